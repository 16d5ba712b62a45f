"""The inbox makes a retried message a no-op."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from storage import inbox, people
from storage.models import Audit, InboxMessage
from tests.chat import ChatDriver
from tests.factories import make_world


async def test_same_message_id_three_times_is_handled_once(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        invite = await people.create_invite(
            s, role="secretary", region_id=world.villages[0].id, now=clock.now()
        )
    chat = ChatDriver(sessionmaker, clock, rules)
    results = [await chat.send("u1", f"绑定 {invite.code}", message_id="same-1") for _ in range(3)]
    assert "绑定成功" in results[0][0].text
    assert results[1] == [] and results[2] == []
    async with sessionmaker() as s:
        assert await inbox.count(s) == 1
        binds = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "bind")
        )
    assert binds == 1


async def test_concurrent_duplicates_are_handled_once(sessionmaker, clock, rules):
    await make_world(sessionmaker, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    results = await asyncio.gather(*(chat.send("u9", "帮助", message_id="dup-x") for _ in range(3)))
    assert sum(1 for r in results if r) == 1
    async with sessionmaker() as s:
        rows = (await s.scalars(sa.select(InboxMessage))).all()
    assert len(rows) == 1 and rows[0].handled_at is not None


async def test_handler_crash_writes_nothing_and_apologises(sessionmaker, clock, rules):
    from handlers.registry import Command

    world = await make_world(sessionmaker, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    from tests.factories import bind

    await bind(sessionmaker, world.people["sec0"], "test", "u1", clock.now())

    async def boom(ctx, _args):
        await ctx.audit("half", "x")
        raise RuntimeError("boom")

    chat.inbound.registry.command(Command(("爆炸",), boom, frozenset({"secretary"})))
    replies = await chat.send("u1", "爆炸", message_id="crash-1")
    assert "没有保存" in replies[0].text
    async with sessionmaker() as s:
        half = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "half")
        )
        row = await s.scalar(sa.select(InboxMessage).where(InboxMessage.message_id == "crash-1"))
    assert half == 0
    assert row is not None and "boom" in (row.error or "")


async def test_over_long_text_is_refused_with_the_limit(sessionmaker, clock, rules):
    chat = ChatDriver(sessionmaker, clock, rules)
    assert "2000" in await chat.say("u1", "字" * 2001)


async def _held_elsewhere(engine, key: int) -> tuple[object, object]:
    """Another process's transaction holding the sender's advisory lock."""
    conn = await engine.connect()
    tx = await conn.begin()
    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    return conn, tx


async def test_a_senders_messages_wait_for_their_previous_one_in_another_process(
    backend, engine, sessionmaker, clock, rules
):
    """PostgreSQL: the inbox statement takes the sender's lock, so a second process's message
    from the same person waits until the first one's transaction ends; other senders do not."""
    import pytest

    from storage.inbox import lock_key

    if backend != "postgresql":
        pytest.skip("SQLite serializes writers itself; the lock is PostgreSQL's")
    await make_world(sessionmaker, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    blocked = chat.incoming("u1", text="帮助")
    conn, tx = await _held_elsewhere(engine, lock_key(blocked.channel, blocked.sender_id))
    try:
        waiting = asyncio.create_task(chat.inbound.receive(blocked))
        # record/handle (WeCom's path) claims under the same lock; a second Inbound stands for
        # a second process (no shared in-process lock).
        second = ChatDriver(sessionmaker, clock, rules)
        other = second.incoming("u1", text="帮助")
        recorded = await second.inbound.record(other)
        assert recorded is not None
        claiming = asyncio.create_task(second.inbound.handle(recorded, other))
        assert await chat.send("u2", "帮助")  # another sender is not held up
        await asyncio.sleep(0.3)
        assert not waiting.done() and not claiming.done()
        async with sessionmaker() as s:
            row = await s.get(InboxMessage, recorded)
            assert row is not None and row.handled_at is None
    finally:
        await tx.rollback()
        await conn.close()
    assert await asyncio.wait_for(waiting, 10)
    assert await asyncio.wait_for(claiming, 10)


async def test_a_message_left_unhandled_is_handled_at_start_up_and_its_reply_queued(
    sessionmaker, clock, rules
):
    """The process stopped between answering WeCom and handling the message: recovery handles
    it once and queues the reply for the delivery worker on the message's channel."""
    from storage.models import OutboxMessage
    from tests.factories import bind

    world = await make_world(sessionmaker, clock.now())
    await bind(sessionmaker, world.people["sec0"], "test", "u1", clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    stranded = chat.incoming("u1", text="我的信息", message_id="stranded-1")
    assert await chat.inbound.record(stranded) is not None
    fresh = chat.incoming("u1", text="帮助", message_id="fresh-1")
    assert await chat.inbound.record(fresh) is not None
    clock.advance(seconds=40)
    assert await chat.inbound.record(chat.incoming("u1", text="帮助", message_id="new-1"))

    restarted = ChatDriver(sessionmaker, clock, rules)
    assert await restarted.inbound.recover() == 2  # older than 30 s; the newest is in flight
    assert await restarted.inbound.recover() == 0
    async with sessionmaker() as s:
        queued = (await s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))).all()
        left = await s.scalar(
            sa.select(InboxMessage.message_id).where(InboxMessage.handled_at.is_(None))
        )
    assert [q.idempotency_key for q in queued] == [
        "reply:test:stranded-1:0",
        "reply:test:fresh-1:0",
    ]
    assert all(q.recipient_id == world.people["sec0"].id and q.channel == "test" for q in queued)
    text = queued[0].body["text"]
    assert world.people["sec0"].name in text and world.villages[0].name in text
    assert left == "new-1"


async def test_messages_recorded_together_share_one_transaction(engine, sessionmaker, clock, rules):
    """Group commit: messages that arrive while an inbox write is in flight are written by the
    next one together; a message id twice in the batch (a quick retry) is stored once."""
    from sqlalchemy import event

    chat = ChatDriver(sessionmaker, clock, rules)
    commits: list[int] = []
    listener = lambda _conn: commits.append(1)  # noqa: E731
    event.listen(engine.sync_engine, "commit", listener)
    try:
        incoming = [chat.incoming(f"u{i}", text="帮助", message_id=f"g-{i}") for i in range(5)]
        incoming.append(chat.incoming("u0", text="帮助", message_id="g-0"))  # retried at once
        ids = await asyncio.gather(*(chat.inbound.record(m) for m in incoming))
        alone = await chat.inbound.record(chat.incoming("u9", text="帮助", message_id="g-9"))
    finally:
        event.remove(engine.sync_engine, "commit", listener)
    assert all(isinstance(i, int) for i in ids[:5]) and len(set(ids[:5])) == 5
    assert ids[5] is None
    assert isinstance(alone, int)
    assert len(commits) == 2  # the six together, then the one alone
    async with sessionmaker() as s:
        rows = (await s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id))).all()
    assert [r.message_id for r in rows] == [f"g-{i}" for i in range(5)] + ["g-9"]
    assert {r.id for r in rows} == {*ids[:5], alone}
    assert all(r.handled_at is None for r in rows)
    # and each is handled once afterwards
    assert await chat.inbound.handle(ids[1], incoming[1])
    assert await chat.inbound.handle(ids[1], incoming[1]) is None


async def test_a_message_sees_what_the_senders_previous_message_committed_while_it_waited(
    backend, engine, sessionmaker, clock, rules
):
    """PostgreSQL: the sender's lock is taken before the statement that reads the sender, so
    that statement's snapshot includes what the lock's previous holder (the sender's previous
    message, in another process) committed while this message waited for it."""
    import pytest

    from storage.inbox import lock_key
    from storage.models import Person
    from tests.factories import bind

    if backend != "postgresql":
        pytest.skip("SQLite serializes writers itself; the lock is PostgreSQL's")
    world = await make_world(sessionmaker, clock.now())
    sec = world.people["sec0"]
    await bind(sessionmaker, sec, "test", "u1", clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    message = chat.incoming("u1", text="我的信息")
    conn, tx = await _held_elsewhere(engine, lock_key(message.channel, message.sender_id))
    try:
        waiting = asyncio.create_task(chat.inbound.receive(message))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await conn.execute(sa.update(Person).where(Person.id == sec.id).values(name="改过的名字"))
        await tx.commit()
    finally:
        await conn.close()
    replies = await asyncio.wait_for(waiting, 10)
    assert replies is not None and "改过的名字" in replies[0].text


async def test_the_inbox_write_is_one_statement_outside_a_transaction_on_postgresql(
    engine, sessionmaker, clock, rules, backend, pooler
):
    """On PostgreSQL reached directly the group-committed inbox write is its statement alone,
    in autocommit (no BEGIN and COMMIT round trips), and committed when ``record`` returns;
    behind a transaction-mode pooler it keeps its transaction."""
    if backend != "postgresql":
        pytest.skip("autocommit is used on PostgreSQL only")
    from sqlalchemy import event

    chat = ChatDriver(sessionmaker, clock, rules)
    in_transaction: list[bool] = []

    def after(conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("INSERT INTO INBOX"):
            in_transaction.append(conn.connection.driver_connection.is_in_transaction())

    event.listen(engine.sync_engine, "after_cursor_execute", after)
    try:
        first = await chat.inbound.record(chat.incoming("u1", text="帮助", message_id="a-1"))
        batch = await asyncio.gather(
            *(
                chat.inbound.record(chat.incoming("u2", text="帮助", message_id=f"a-{i}"))
                for i in (2, 3)
            )
        )
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", after)
    assert first is not None and None not in batch
    assert in_transaction == [pooler] * len(in_transaction) and len(in_transaction) >= 2
    # Committed: another connection sees the rows, and a retry is recognised.
    async with sessionmaker() as s:
        stored = set(await s.scalars(sa.select(InboxMessage.message_id)))
    assert stored == {"a-1", "a-2", "a-3"}
    assert await chat.inbound.record(chat.incoming("u1", text="帮助", message_id="a-1")) is None

    # Autocommit ends with the write: every pooled connection (the test engine holds 5) opens a
    # real transaction again for the next session.
    async def in_a_transaction(entered: asyncio.Event, all_in: asyncio.Event) -> bool:
        async with sessionmaker() as s, s.begin():
            await s.execute(sa.select(InboxMessage.id).limit(1))
            entered.set()
            await all_in.wait()  # all five at once: each holds its own connection
            raw = await (await s.connection()).get_raw_connection()
            return bool(raw.driver_connection.is_in_transaction())

    events = [asyncio.Event() for _ in range(5)]
    all_in = asyncio.Event()
    sessions = [asyncio.create_task(in_a_transaction(e, all_in)) for e in events]
    await asyncio.gather(*(e.wait() for e in events))
    all_in.set()
    assert await asyncio.gather(*sessions) == [True] * 5
