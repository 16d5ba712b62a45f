"""services.faq on a real session: the asker, county staff, and the index kept up to date."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.errors import Conflict, Refused
from services import faq
from services.faq_index import FaqService
from storage import people, questions, regions
from storage.models import Audit, OutboxMessage
from tests.factories import make_world
from tests.faqkit import analyzer

UNKNOWN = "村里的光伏电站收益怎么分配给村民"
STAFF_ANSWER = "按村集体经济收益分配方案，经村民代表大会通过后公示发放。"


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


@pytest.fixture
async def index(sessionmaker, clock, world) -> FaqService:
    return await FaqService.start(sessionmaker, clock.now(), analyzer=analyzer())


async def test_a_saved_answer_is_the_next_answer_without_a_restart(
    sessionmaker, clock, rules, world, index
):
    sec, staff = world.people["sec0"], world.people["county0"]
    async with sessionmaker() as s, s.begin():
        asked = await faq.ask(s, sec, UNKNOWN, index=index, now=clock.now())
        assert asked is not None and asked.outcome == "queued"
        qid = asked.question.id
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Conflict, match="还没有答复"):
            await faq.save_as_faq(s, staff, qid, index=index, now=clock.now(), rules=rules)
    async with sessionmaker() as s, s.begin():
        queue = await faq.unanswered(s, staff)
        assert [item.question.id for item in queue.items] == [qid] and queue.total == 1
        done = await faq.answer(s, staff, qid, STAFF_ANSWER, now=clock.now(), rules=rules)
        assert done.asker is not None and done.asker.id == sec.id
        entry = await faq.save_as_faq(s, staff, qid, index=index, now=clock.now(), rules=rules)
        assert entry.id == f"Q{qid}"
    async with sessionmaker() as s:
        pushed = list(await s.scalars(sa.select(OutboxMessage)))
        actions = set(await s.scalars(sa.select(Audit.action)))
    assert [m.recipient_id for m in pushed] == [sec.id] and STAFF_ANSWER in pushed[0].body["text"]
    assert pushed[0].idempotency_key.startswith(f"faq:answer:{qid}:")
    assert {"faq.answer", "faq.save"} <= actions

    async with sessionmaker() as s, s.begin():
        again = await faq.ask(s, world.people["sec1"], UNKNOWN, index=index, now=clock.now())
    assert again is not None and again.outcome == "answered"
    assert again.entry is not None and again.entry.answer == STAFF_ANSWER


async def test_only_staff_of_the_askers_county_may_answer(sessionmaker, clock, rules, world, index):
    async with sessionmaker() as s, s.begin():
        asked = await faq.ask(s, world.people["sec0"], UNKNOWN, index=index, now=clock.now())
        assert asked is not None
        other = await regions.add(s, "county", "邻县")
        other_town = await regions.add(s, "township", "外乡", other.id)
        officer = await people.add(
            s, name="外乡干部", role="township_staff", region_id=other_town.id, now=clock.now()
        )
        outsider = await people.add(
            s, name="邻县干部", role="county_staff", region_id=other.id, now=clock.now()
        )
    qid = asked.question.id
    for who in (officer, outsider, world.people["town0"]):
        async with sessionmaker() as s, s.begin():
            with pytest.raises(Refused):
                await faq.answer(s, who, qid, "不知道", now=clock.now(), rules=rules)
            with pytest.raises(Refused):
                await faq.save_as_faq(s, who, qid, index=index, now=clock.now(), rules=rules)
    async with sessionmaker() as s:
        q = await questions.get(s, qid)
        assert q is not None and q.status == questions.PENDING and q.answer is None
        assert await s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


async def test_feedback_and_picks_are_the_askers_own(sessionmaker, clock, world, index):
    async with sessionmaker() as s, s.begin():
        asked = await faq.ask(
            s, world.people["sec0"], "低保渐退多长时间", index=index, now=clock.now()
        )
        assert asked is not None and asked.outcome == "answered"
    qid = asked.question.id
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Refused):
            await faq.feedback(s, world.people["sec1"], qid, useful=False)
        with pytest.raises(Refused):
            await faq.pick(s, world.people["sec0"], qid, "NO-SUCH")
        q = await faq.feedback(s, world.people["sec0"], qid, useful=False)
    assert (q.feedback, q.status) == ("useless", questions.PENDING)


async def test_greetings_are_not_recorded(sessionmaker, clock, world, index):
    async with sessionmaker() as s, s.begin():
        assert await faq.ask(s, world.people["sec0"], "你好", index=index, now=clock.now()) is None
    async with sessionmaker() as s:
        assert await questions.pending(s, world.county.id) == ([], 0)
