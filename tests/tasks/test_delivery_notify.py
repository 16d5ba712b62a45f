"""Wake-ups on PostgreSQL: a row queued by another connection goes out without waiting for a
poll (LISTEN on the outbox's insert trigger), also after the listen connection was killed;
where LISTEN is used at all (never through a pooler without a direct address)."""

from __future__ import annotations

import asyncio
import os

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core.clock import SystemClock
from storage import outbox
from storage.models import OutboxMessage
from storage.outbox_listen import listen_url
from tasks.delivery import Delivery
from tests.conftest import PG_ENV
from tests.tasks.test_delivery import FakeSender, _world

NEVER = 3600.0  # poll intervals no test waits for: only a notification can wake the worker


def _direct(pg_url: str) -> str:
    """The test database on the server itself (the session's URL may lead through PgBouncer)."""
    name = make_url(pg_url).database
    return make_url(os.environ[PG_ENV]).set(database=name).render_as_string(hide_password=False)


async def _until(check, what: str, limit: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {limit:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def _queue(sessionmaker, recipient: int, key: str) -> None:
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(
            s, recipient_id=recipient, body={"text": key}, key=key, now=SystemClock().now()
        )


async def _status(sessionmaker, key: str) -> str | None:
    async with sessionmaker() as s:
        return await s.scalar(
            sa.select(OutboxMessage.status).where(OutboxMessage.idempotency_key == key)
        )


async def _idle(delivery: Delivery) -> None:
    """Listening, and asleep on its wake-up (the connect wake-up's batch is done)."""
    assert delivery.listener is not None

    async def ready() -> bool:
        return delivery.listener.connected.is_set() and not delivery.wake.is_set()

    await _until(ready, "the worker listens and idles")
    await asyncio.sleep(0.2)


async def test_a_row_queued_elsewhere_is_sent_on_its_notification(
    sessionmaker, pg_url, clock, rules
):
    if pg_url is None:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    clock = SystemClock()
    world = await _world(sessionmaker, clock, n=1)
    sender = FakeSender(clock)
    delivery = Delivery(
        sessionmaker, clock, rules, {"fake": sender}, listen_url=_direct(pg_url), idle_poll=NEVER
    )
    runner = asyncio.create_task(delivery.run_forever(interval=NEVER))
    try:
        await _idle(delivery)
        await _queue(sessionmaker, world.people["sec0"].id, "n:1")

        async def sent_1() -> bool:
            return await _status(sessionmaker, "n:1") == "sent"

        await _until(sent_1, "the first row is sent")

        # The listen connection dies: the listener reconnects and the next row still goes out.
        async with sessionmaker() as s, s.begin():
            killed = await s.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                )
            )
        assert killed >= 1

        async def dropped() -> bool:
            return not delivery.listener.connected.is_set()

        await _until(dropped, "the listener notices the lost connection")
        await _idle(delivery)
        await _queue(sessionmaker, world.people["sec0"].id, "n:2")

        async def sent_2() -> bool:
            return await _status(sessionmaker, "n:2") == "sent"

        await _until(sent_2, "the row after the reconnect is sent")
        assert [oid for _, oid, _ in sender.calls] == sorted({oid for _, oid, _ in sender.calls})
        assert len(sender.calls) == 2
    finally:
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner


async def test_an_insert_notifies_at_commit(sessionmaker, pg_url, clock):
    """The outbox's insert trigger: a LISTEN on another connection hears a committed insert,
    and nothing before the commit."""
    if pg_url is None:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    import asyncpg

    world = await _world(sessionmaker, clock, n=1)
    got: list[str] = []
    dsn = make_url(_direct(pg_url)).set(drivername="postgresql").render_as_string(False)
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener("cunbot_outbox", lambda *args: got.append(args[2]))
        async with sessionmaker() as s, s.begin():
            await outbox.enqueue(
                s, recipient_id=world.people["sec0"].id, body={}, key="trg:1", now=clock.now()
            )
            await asyncio.sleep(0.2)
            assert got == []  # sent at commit, not before

        async def heard() -> bool:
            return got == ["cunbot_outbox"]

        await _until(heard, "the notification arrives")
    finally:
        await listener.close()


def test_listen_only_where_a_session_of_its_own_is_possible():
    pg = "postgresql+asyncpg://u@db:5432/cunbot"
    direct = "postgresql+asyncpg://u@db-direct:5432/cunbot"
    assert listen_url(pg, pooler=False) == pg
    assert listen_url(pg, pooler=True) is None  # PgBouncer in transaction mode: poll
    assert listen_url(pg, pooler=True, direct_url=direct) == direct
    assert listen_url("sqlite+aiosqlite:///x.sqlite3", pooler=False) is None
