"""The inbound transaction on asyncpg directly (storage.inbound_tx): literals that round-trip,
history written with the COMMIT, and a transaction that fails leaving its connection clean.
PostgreSQL only (SQLite keeps the ORM path)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from storage import db, inbound_tx, webchat
from storage.models import InboxMessage, WebChatMessage
from tests.factories import bind, make_world

TRICKY = ["it's", "a\\b", "'';--", "$$x$$", "行\n二\t三", "\\'", "😀", ""]


@pytest.fixture(autouse=True)
def _postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("the asyncpg path is PostgreSQL's")


async def test_literals_read_back_as_the_values_they_stand_for(engine):
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        for text in TRICKY:
            assert await raw.fetchval(f"SELECT {inbound_tx.literal(text)}::text") == text
        assert await raw.fetchval(f"SELECT {inbound_tx.literal(-42)}") == -42
        at = datetime(2026, 11, 10, 2, 3, 4, 567000, tzinfo=UTC)
        assert await raw.fetchval(f"SELECT {inbound_tx.literal(at)}") == at.replace(tzinfo=None)
    with pytest.raises(ValueError):
        inbound_tx.literal("a\x00b")


async def test_history_written_with_the_commit_keeps_text_and_order(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    await bind(sessionmaker, world.people["sec0"], "webchat", "b1", clock.now())
    async with sessionmaker() as s:
        ident = await webchat.identity(s, "webchat", "b1")
    assert ident is not None
    bodies = [{"text": t, "buttons": [{"label": t, "payload": "p"}]} for t in TRICKY]
    async with inbound_tx.transaction(inbound_tx.Lanes(sessionmaker), "webchat", "b1") as tx:
        new, author = await tx.record_with_sender(
            channel="webchat", message_id="b1:m1", sender_id="b1", payload={}, now=clock.now()
        )
        assert new is not None and author.person is not None
        assert author.person.identity_id == ident.identity_id
        messages = [("in" if i == 0 else "out", b) for i, b in enumerate(bodies)]
        await webchat.add_messages(tx.session, ident.identity_id, messages, clock.now())
        await tx.commit()
    async with sessionmaker() as s:
        entries = await webchat.history(s, ident.identity_id)
    assert [e.body for e in entries] == bodies
    assert [e.direction for e in entries] == ["in"] + ["out"] * (len(bodies) - 1)
    assert {e.created_at for e in entries} == {clock.now()}


async def test_a_failed_transaction_writes_nothing_and_leaves_its_connection_clean(
    engine, database_url, pooler, clock
):
    # ``engine`` (the fixture) makes the schema and empties it afterwards; this test's own
    # engine has one connection, so the next transaction gets the same one.
    one = db.make_engine(database_url, pool_size=1, pooler=pooler)
    sessionmaker = db.make_sessionmaker(one)
    try:
        with pytest.raises(RuntimeError):
            async with inbound_tx.transaction(
                inbound_tx.Lanes(sessionmaker), "webchat", "b2"
            ) as tx:
                await tx.record_with_sender(
                    channel="webchat",
                    message_id="b2:m1",
                    sender_id="b2",
                    payload={},
                    now=clock.now(),
                )
                raise RuntimeError("handler failed")
        async with one.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert not raw.is_in_transaction()
            found = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.message_id == "b2:m1")
            )
        assert found == 0
        # A duplicate rolls back too: the first copy is stored once, the second reports None.
        for expected_new in (True, False):
            async with inbound_tx.transaction(
                inbound_tx.Lanes(sessionmaker), "webchat", "b2"
            ) as tx:
                new, author = await tx.record_with_sender(
                    channel="webchat",
                    message_id="b2:m2",
                    sender_id="b2",
                    payload={},
                    now=clock.now(),
                )
                assert (new is not None) is expected_new and author.person is None
                if new is not None:
                    await tx.commit()
        async with sessionmaker() as s:
            rows = await s.scalar(sa.select(sa.func.count()).select_from(WebChatMessage))
            stored = await s.scalar(
                sa.select(sa.func.count())
                .select_from(InboxMessage)
                .where(InboxMessage.message_id == "b2:m2")
            )
        assert stored == 1 and rows == 0
    finally:
        await one.dispose()
