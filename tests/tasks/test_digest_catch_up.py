"""The digest catch-up reads only people whose digest time has come (``people.*_next_at``
through its partial index), chunks split between two schedulers without duplicates, and the
morning text renders each line once with the same masking as a plain Reply."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
import sqlalchemy as sa

from core.messages import Reply
from storage import db, digest_due, people
from storage import tasks as task_store
from storage.models import OutboxMessage, Person
from tasks import digest
from tasks.scheduler import Scheduler
from tests.conftest import SHANGHAI
from tests.factories import make_world


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def _keys(sessionmaker, kind="morning") -> list[str]:
    async with sessionmaker() as s:
        return list(
            await s.scalars(
                sa.select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.startswith(f"digest:{kind}:")
                )
            )
        )


async def _pending(sessionmaker, clock, rules, kind="morning") -> int:
    async with sessionmaker() as s:
        return (await digest.pending(s, kind, clock.now(), rules)).count


async def test_tick_reads_only_people_whose_time_has_come(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        await people.set_prefs(s, world.people["sec0"].id, morning_digest="09:00")
        await people.set_prefs(s, world.people["sec1"].id, morning_digest_off=True)
    scheduler = Scheduler(sessionmaker, clock, rules)
    clock.set(sh(2026, 11, 11, 7, 0))
    # New people have never been looked at: the first tick looks at all four secretaries,
    # settles when each is due, and queues nothing before the hour.
    assert await _pending(sessionmaker, clock, rules) == 4
    assert await scheduler.morning_tick() == 0
    clock.advance(minutes=1)
    assert await _pending(sessionmaker, clock, rules) == 0  # nobody until 07:30
    clock.set(sh(2026, 11, 11, 7, 30))
    assert await _pending(sessionmaker, clock, rules) == 2  # sec2, sec3 (sec1 is off)
    assert await scheduler.morning_tick() == 2
    clock.set(sh(2026, 11, 11, 8, 15))
    assert await _pending(sessionmaker, clock, rules) == 0
    clock.set(sh(2026, 11, 11, 9, 0))
    assert await _pending(sessionmaker, clock, rules) == 1  # sec0 at its own hour
    assert await scheduler.morning_tick() == 1
    clock.advance(minutes=1)
    assert await _pending(sessionmaker, clock, rules) == 0
    # sec1 (off) is looked at again at the start of the next day, not each minute
    clock.set(sh(2026, 11, 12, 0, 0))
    assert await _pending(sessionmaker, clock, rules) == 1  # sec1; the others at their hour
    clock.set(sh(2026, 11, 12, 7, 30))
    assert await scheduler.morning_tick() == 2
    clock.set(sh(2026, 11, 12, 9, 0))
    assert await scheduler.morning_tick() == 1
    assert len(await _keys(sessionmaker)) == 6


async def test_changed_hour_and_new_person_are_looked_at_again(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    scheduler = Scheduler(sessionmaker, clock, rules)
    clock.set(sh(2026, 11, 11, 7, 31))
    assert await scheduler.morning_tick() == 4
    # Changing the hour after today's digest went out: looked at once more, not queued twice.
    async with sessionmaker() as s, s.begin():
        await people.set_prefs(s, world.people["sec2"].id, morning_digest="10:00")
        await people.set_prefs(s, world.people["sec3"].id, web_menu={"1": "x"})  # not a digest key
    clock.advance(minutes=1)
    assert await _pending(sessionmaker, clock, rules) == 1
    assert await scheduler.morning_tick() == 0
    assert await _pending(sessionmaker, clock, rules) == 0
    # A cadre added mid-morning gets today's digest at the next tick, as before.
    async with sessionmaker() as s, s.begin():
        new = await people.add(
            s, name="新书记", role="team_member", region_id=world.villages[0].id, now=clock.now()
        )
    clock.advance(minutes=1)
    assert await _pending(sessionmaker, clock, rules) == 1
    assert await scheduler.morning_tick() == 1
    assert f"digest:morning:{new.id}:20261111" in await _keys(sessionmaker)
    # Turned back on later in the day: goes out then (the old rule: until 18:00).
    async with sessionmaker() as s, s.begin():
        await people.set_prefs(s, world.people["sec0"].id, morning_digest_off=True)
    clock.set(sh(2026, 11, 12, 7, 30))
    assert await scheduler.morning_tick() == 3  # sec1, sec3, the new one (sec2 is at 10:00)
    async with sessionmaker() as s, s.begin():
        await people.set_prefs(s, world.people["sec0"].id, morning_digest_off=None)
    clock.set(sh(2026, 11, 12, 11, 0))
    assert await scheduler.morning_tick() == 2  # sec0, back on, and sec2
    # After 18:00 a morning digest is stale: nobody is read at all.
    clock.set(sh(2026, 11, 13, 18, 30))
    assert await _pending(sessionmaker, clock, rules) == 0
    assert await scheduler.morning_tick() == 0


async def test_two_schedulers_split_chunks_without_duplicates(
    sessionmaker, clock, rules, database_url, pooler, monkeypatch
):
    """Chunks of two person ids: each scheduler takes the chunks the other does not hold; a
    chunk held elsewhere is skipped, and done at the next tick once it is free."""
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        for v in world.villages:
            for i in range(5):
                await people.add(
                    s, name=f"队员{v.id}-{i}", role="team_member", region_id=v.id, now=clock.now()
                )
        cadres = await s.scalar(
            sa.select(sa.func.count())
            .select_from(Person)
            .where(Person.role.in_(["secretary", "team_member"]))
        )
    monkeypatch.setattr(digest_due, "SPAN", 2)
    clock.set(sh(2026, 11, 11, 7, 31))
    engines = [db.make_engine(database_url, pooler=pooler) for _ in range(3)]
    try:
        makers = [db.make_sessionmaker(e) for e in engines]
        schedulers = [Scheduler(m, clock, rules) for m in makers[:2]]
        async with makers[2]() as s:
            todo = await digest.pending(s, "morning", clock.now(), rules)
        held_number, held_ids = todo.chunks()[1]
        # A third party (as a stalled scheduler would) holds one chunk while both run.
        async with makers[2]() as holder, holder.begin():
            assert await digest_due.take_chunk(holder, "morning", held_number)
            counts = await asyncio.gather(*(s.morning_tick() for s in schedulers))
        postgres = db.is_sqlite(database_url) is False
        queued = await _keys(sessionmaker)
        assert len(queued) == len(set(queued)) == sum(counts)
        assert len(queued) == (cadres - len(held_ids) if postgres else cadres)
        if postgres:
            assert all(c > 0 for c in counts)  # both took part
        counts2 = await asyncio.gather(*(s.morning_tick() for s in schedulers))
    finally:
        for e in engines:
            await e.dispose()
    queued = await _keys(sessionmaker)
    assert len(queued) == len(set(queued)) == cadres == sum(counts) + sum(counts2)


async def test_morning_text_masks_like_a_reply(sessionmaker, clock, rules):
    """Rendering line by line from caches gives exactly Reply's (whole-text) masking."""
    world = await make_world(sessionmaker, clock.now())
    v0 = world.villages[0]
    async with sessionmaker() as s, s.begin():
        for title in ("联系13812345678核对", "身份证110101199003071234复印", "电话 0571-8888 1234"):
            await task_store.create_task(
                s,
                kind="task",
                title=title,
                created_by=world.people["county0"].id,
                county_id=world.county.id,
                village_ids=[v0.id],
                now=clock.now(),
                deadline=sh(2026, 11, 12, 17),
            )
    clock.set(sh(2026, 11, 12, 7, 31))
    assert await Scheduler(sessionmaker, clock, rules).morning_tick() == 4
    async with sessionmaker() as s:
        body = await s.scalar(
            sa.select(OutboxMessage.body).where(
                OutboxMessage.recipient_id == world.people["sec0"].id
            )
        )
    text = body["text"]
    assert "138****5678" in text and "1101**********1234" in text and "0571-****1234" in text
    assert "13812345678" not in text
    assert body == Reply(text, meta={"kind": "digest", "digest": "morning"}).to_dict()
    assert Reply(text).text == text


@pytest.mark.parametrize("line", ["a13812345678", "13812345678\n13812345678", "x\n0571-8888 1234"])
def test_masking_is_line_by_line(line):
    from core.privacy import mask_pii

    assert mask_pii(line) == "\n".join(mask_pii(part) for part in line.split("\n"))


async def test_preferences_read_as_before_on_both_paths(sessionmaker, clock, rules):
    """People on the default hour are settled by one statement, the others read with their
    preferences: a JSON null or an unreadable hour means the default, as it always did."""
    world = await make_world(sessionmaker, clock.now())
    odd = {
        "sec0": {"morning_digest": None, "web_menu": {"1": "x"}},
        "sec1": {"morning_digest": "25:99"},
        "sec2": {"morning_digest_off": None},
        "sec3": {"morning_digest": "07:45"},
    }
    async with sessionmaker() as s, s.begin():
        for name, prefs in odd.items():
            await s.execute(
                sa.update(Person).where(Person.id == world.people[name].id).values(prefs=prefs)
            )
    scheduler = Scheduler(sessionmaker, clock, rules)
    clock.set(sh(2026, 11, 11, 7, 30))
    assert await scheduler.morning_tick() == 3
    clock.set(sh(2026, 11, 11, 7, 45))
    assert await scheduler.morning_tick() == 1
    assert await _pending(sessionmaker, clock, rules) == 0
    async with sessionmaker() as s:
        nxt = dict((await s.execute(sa.select(Person.id, Person.morning_next_at))).all())
    assert nxt[world.people["sec0"].id] == sh(2026, 11, 12, 7, 30)
    assert nxt[world.people["sec3"].id] == sh(2026, 11, 12, 7, 45)


def test_the_index_predicate_names_the_digest_roles():
    from storage.models import DIGEST_WHO

    for kind, roles in (("morning", digest.MORNING_ROLES), ("evening", digest.EVENING_ROLES)):
        listed = DIGEST_WHO[kind].split("IN (", 1)[1].split(")", 1)[0]
        assert sorted(r.strip(" '") for r in listed.split(",")) == sorted(roles)


async def test_nudge_reads_each_cadre_once_a_month_or_hourly_while_nobody_is_short(
    sessionmaker, clock, rules
):
    from tasks import nudges
    from tests.factories import add_household

    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        await add_household(s, world.villages[0].id, "H1", "王大", "监测户", clock.now())
    scheduler = Scheduler(sessionmaker, clock, rules)

    async def nudge_pending() -> int:
        async with sessionmaker() as s:
            return (await nudges.pending(s, clock.now(), rules)).count

    clock.set(sh(2026, 11, 24, 10))
    assert await nudge_pending() == 0
    clock.set(sh(2026, 11, 25, 9, 1))
    assert await nudge_pending() == 4
    assert await scheduler.nudge_tick() == 1  # only village 0 has a household short
    clock.advance(minutes=1)
    assert await nudge_pending() == 0  # not every cadre each minute
    # Village 1 falls short later: its secretary is nudged at the hourly look.
    async with sessionmaker() as s, s.begin():
        await add_household(s, world.villages[1].id, "H2", "李二", "监测户", clock.now())
    assert await scheduler.nudge_tick() == 0
    clock.set(sh(2026, 11, 25, 10, 2))
    assert await nudge_pending() == 3
    assert await scheduler.nudge_tick() == 1
    clock.set(sh(2026, 11, 30, 23, 59))
    assert await scheduler.nudge_tick() == 0
    clock.set(sh(2026, 12, 25, 9, 0))
    assert await scheduler.nudge_tick() == 2  # a new month
    async with sessionmaker() as s:
        keys = list(
            await s.scalars(
                sa.select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.startswith("nudge:visits:")
                )
            )
        )
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ["2026-11", "2026-11", "2026-12", "2026-12"]
