"""The reply fast path's group commit (bot.channels.replies: SentMarks, Reservations), on the
real database: marks requested together share transactions, each caller returns once its own
mark is committed, a row the delivery worker took meanwhile is left as the worker left it, and
send slots reserved together keep the channel's per-member limit."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from bot.channels.replies import Reservations, SentMarks
from bot.channels.wecom.sender import LIMITS
from storage import outbox
from storage.models import OutboxMessage
from tasks.gates import ChannelGates
from tests.factories import make_world


async def _queue(sm, clock, person_id: int, count: int) -> list[int]:
    ids = []
    async with sm() as s, s.begin():
        for i in range(count):
            row = await outbox.enqueue(
                s,
                recipient_id=person_id,
                body={"text": f"回复{i}"},
                key=f"reply:wecom:m{i}:0",
                now=clock.now(),
                priority=outbox.PRIORITY_REPLY,
                channel="wecom",
            )
            assert row is not None
            ids.append(row)
    return ids


async def test_marks_requested_together_share_transactions(
    engine, sessionmaker, clock, backend, pooler
) -> None:
    world = await make_world(sessionmaker, clock.now())
    ids = await _queue(sessionmaker, clock, world.people["sec0"].id, 30)
    # The delivery worker took one of them meanwhile (and sends it itself).
    async with sessionmaker() as s, s.begin():
        await s.execute(
            sa.update(OutboxMessage).where(OutboxMessage.id == ids[7]).values(status="sending")
        )
    begins: list[Any] = []
    statements: list[str] = []

    def count_begin(*_: Any) -> None:
        begins.append(1)

    in_transaction: list[bool] = []

    def count_statement(conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)
        if backend == "postgresql":
            in_transaction.append(conn.connection.driver_connection.is_in_transaction())

    event.listen(engine.sync_engine, "begin", count_begin)
    event.listen(engine.sync_engine, "after_cursor_execute", count_statement)
    try:
        marks = SentMarks(sessionmaker, clock)
        await asyncio.gather(*(marks.mark(row, "wecom") for row in ids))
    finally:
        event.remove(engine.sync_engine, "begin", count_begin)
        event.remove(engine.sync_engine, "after_cursor_execute", count_statement)
    # All 30 were waiting before the writer ran: one transaction (one each before), and one
    # statement in it (one per row before).
    assert len(begins) == 1
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("UPDATE")]) == 1
    # On PostgreSQL reached directly that statement ran alone, in autocommit (no BEGIN and
    # COMMIT round trips); behind a transaction-mode pooler it keeps its transaction.
    assert in_transaction == ([pooler] if backend == "postgresql" else [])
    async with sessionmaker() as s:
        rows = {r.id: r for r in await s.scalars(sa.select(OutboxMessage))}
    assert rows[ids[7]].status == "sending" and rows[ids[7]].sent_at is None
    assert all(rows[i].status == "sent" and rows[i].sent_at for i in ids if i != ids[7])


async def test_a_failed_mark_reaches_every_caller_of_its_batch(sessionmaker, clock) -> None:
    world = await make_world(sessionmaker, clock.now())
    ids = await _queue(sessionmaker, clock, world.people["sec0"].id, 2)
    marks = SentMarks(sessionmaker, clock)
    # The database is away: the sessionmaker cannot open a session.

    def broken() -> Any:
        raise ConnectionError("database away")

    marks.sessionmaker = broken  # type: ignore[assignment]
    results = await asyncio.gather(
        *(marks.mark(row, "wecom") for row in ids), return_exceptions=True
    )
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    # Nothing was marked: the delivery worker sends them when due.
    async with sessionmaker() as s:
        statuses = (await s.scalars(sa.select(OutboxMessage.status))).all()
    assert statuses == ["pending", "pending"]
    # The next mark after a failure is written again.
    marks.sessionmaker = sessionmaker
    await marks.mark(ids[0], "wecom")
    async with sessionmaker() as s:
        assert (
            await s.scalar(sa.select(OutboxMessage.status).where(OutboxMessage.id == ids[0]))
            == "sent"
        )


class _WeComLike:
    """A sender with WeCom's limits (30 messages a minute to one member, replies included)."""

    name = "wecom"
    limits = LIMITS

    async def send(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("not sent here")


async def test_reply_slots_reserved_together_keep_the_member_limit(
    engine, sessionmaker, clock
) -> None:
    """31 replies to one member ready at once: the batch reserves in order, so 30 go now and
    the 31st waits (in the database's shared windows on PostgreSQL, one transaction)."""
    gates = ChannelGates()
    gates.attach(sessionmaker)  # shared windows on PostgreSQL; in memory on SQLite
    begins: list[Any] = []

    def count_begin(*_: Any) -> None:
        begins.append(1)

    slots = Reservations(gates, clock)
    event.listen(engine.sync_engine, "begin", count_begin)
    try:
        waits = await asyncio.gather(*(slots.reserve(_WeComLike(), "wang") for _ in range(31)))
    finally:
        event.remove(engine.sync_engine, "begin", count_begin)
    assert waits[:30] == [timedelta(0)] * 30
    assert waits[30] > timedelta(0)
    assert len(begins) == (1 if gates.shared else 0)
    # Paused channel: no reservation at all, the pause's wait.
    gates.pause("wecom", clock.now() + timedelta(seconds=20))
    assert await slots.reserve(_WeComLike(), "li") == timedelta(seconds=20)
