"""Public numbers under concurrency (core.numbers, storage.counters): allocations that overlap
never share a number, a rolled-back allocation gives its number back (no gaps), and the
unique constraints refuse a duplicate that bypassed the counter."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.numbers import Series
from storage import counters
from storage.models import Assignment, Problem, Task
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world


class _Abandoned(Exception):
    pass


async def test_overlapping_allocations_are_distinct_and_gap_free(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    county = world.county.id

    async def take(i: int) -> int:
        async with sessionmaker() as s, s.begin():
            number = await counters.next_number(s, county, Series.PROBLEM)
            await asyncio.sleep(0.01)  # hold the counter while others queue behind it
            if i in (3, 11):
                raise _Abandoned  # rolled back: its number goes to the next one in line
        return number

    results = await asyncio.gather(*(take(i) for i in range(20)), return_exceptions=True)
    taken = [r for r in results if isinstance(r, int)]
    assert sum(isinstance(r, _Abandoned) for r in results) == 2
    assert sorted(taken) == list(range(1, 19))
    async with sessionmaker() as s, s.begin():
        assert await counters.next_number(s, county, Series.PROBLEM) == 19
        assert await counters.next_number(s, county, Series.TASK) == 1  # series are apart


async def test_concurrent_problem_numbers_never_collide(sessionmaker, clock, rules):
    """Eight secretaries confirm a visit with a problem at the same moment, each through the
    chat: eight problems numbered 1..8, each rectification item carrying its problem's number."""
    world = await make_world(sessionmaker, clock.now(), townships=2, villages_per_township=4)
    senders = [f"sec{i}" for i in range(8)]
    async with sessionmaker() as s, s.begin():
        for i, village in enumerate(world.villages):
            await add_household(s, village.id, f"HH{i}", f"户主{i}", "监测户", clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    for i, key in enumerate(senders):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
        await chat.send(key, f"走访 户主{i} 房子屋顶漏雨")
    replies = await asyncio.gather(*(chat.press(key, "visit:confirm") for key in senders))
    assert all("已保存" in r[0].text for r in replies)
    async with sessionmaker() as s:
        rows = (
            await s.execute(
                sa.select(Problem.number, Task.number)
                .join(Assignment, Assignment.id == Problem.assignment_id)
                .join(Task, Task.id == Assignment.task_id)
            )
        ).all()
    assert sorted(p for p, _ in rows) == list(range(1, 9))
    assert all(p == t for p, t in rows)
    said = sorted(int(r[0].text.split("问题 ")[1][0]) for r in replies)
    assert said == list(range(1, 9))  # each secretary was told the number that was stored


async def test_a_duplicate_number_is_refused_by_the_database(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    creator = world.people["county0"].id

    def task(kind: str) -> Task:
        return Task(
            kind=kind, number=7, title="x", created_by=creator, county_id=world.county.id,
            created_at=clock.now(),
        )  # fmt: skip

    async with sessionmaker() as s, s.begin():
        s.add(task("task"))
        s.add(task("rectify"))  # another series may hold the same number
    with pytest.raises(IntegrityError):
        async with sessionmaker() as s, s.begin():
            s.add(task("task"))
