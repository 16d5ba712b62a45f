"""insert_ignore: the dedup insert under every inbox, outbox and photo row."""

from __future__ import annotations

from storage.models import OutboxMessage
from storage.upsert import _insert_ignore, insert_ignore
from tests.factories import make_world


async def test_second_insert_of_a_key_is_ignored_and_python_defaults_are_filled(
    sessionmaker, clock
):
    world = await make_world(sessionmaker, clock.now())
    row = {
        "recipient_id": world.people["sec0"].id,
        "body": {"text": "你好", "buttons": []},
        "idempotency_key": "k-1",
        "not_before": clock.now(),
        "created_at": clock.now(),
    }
    async with sessionmaker() as s, s.begin():
        first = await insert_ignore(s, OutboxMessage, row, ["idempotency_key"])
        again = await insert_ignore(s, OutboxMessage, {**row, "body": {}}, ["idempotency_key"])
    assert isinstance(first, int) and again is None
    async with sessionmaker() as s:
        stored = await s.get(OutboxMessage, first)
    assert stored is not None
    # not given: the model's defaults (status, attempts, priority) as with an ORM insert
    assert (stored.status, stored.attempts, stored.priority) == ("pending", 0, 1)
    assert stored.body == {"text": "你好", "buttons": []}
    assert stored.not_before == clock.now()


async def test_the_statement_has_a_cache_key(engine):
    """SQLAlchemy compiles a statement once only if it has a cache key; the dialects'
    ON CONFLICT inserts have none in 2.0, which is why insert_ignore is textual."""
    stmt, _ = _insert_ignore(
        engine.dialect, OutboxMessage.__table__, ("idempotency_key",), ("idempotency_key",)
    )
    assert stmt._generate_cache_key() is not None
