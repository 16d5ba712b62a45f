"""Question numbers: a policy question takes its county's next number only when it goes to the
county's staff (handed off, 没用, 都不是), never for an FAQ lookup, so the staff's queue counts
1, 2, 3 ... in each county, and the asker, the queue, 答复 and 存为问答 all use that number."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from handlers.context import Services
from services.faq_index import FaqService
from storage.models import OutboxMessage, Question
from tests.chat import ChatDriver
from tests.factories import add_county, bind, make_world
from tests.faqkit import analyzer

KNOWN = "低保渐退多长时间"
UNKNOWN = ("村里的光伏电站收益怎么分配给村民", "村集体鱼塘承包费怎么分给各户")


@pytest.fixture
async def chat(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    away = await add_county(sessionmaker, clock.now())
    for key, person in (
        ("sec", world.people["sec0"]),
        ("staff", world.people["county0"]),
        ("away", away.people["sec"]),
        ("away-staff", away.people["county"]),
    ):
        await bind(sessionmaker, person, "test", key, clock.now())
    service = await FaqService.start(sessionmaker, clock.now(), analyzer=analyzer())
    return ChatDriver(sessionmaker, clock, rules, services=Services(faq=service))


async def _hand_off(chat: ChatDriver, sender: str, text: str) -> str:
    """Ask; when the bot offers suggestions, say none fits. The reply that queued it."""
    [reply] = await chat.send(sender, text)
    if reply.buttons and reply.buttons[-1].label == "都不是":
        [reply] = await chat.press(sender, reply.buttons[-1].payload)
    return reply.text


async def _numbers(sessionmaker) -> list[tuple[str, str, int | None]]:
    async with sessionmaker() as s:
        rows = await s.execute(
            sa.select(Question.text, Question.status, Question.number).order_by(Question.id)
        )
        return [tuple(r) for r in rows]


async def test_question_numbers_are_gap_free_per_county(chat, sessionmaker):
    for _ in range(3):  # FAQ lookups take no number
        [answered] = await chat.send("sec", KNOWN)
        assert "1年" in answered.text
    assert "（提问 1）" in await _hand_off(chat, "sec", UNKNOWN[0])
    [answered] = await chat.send("sec", KNOWN)
    assert "（提问 2）" in await _hand_off(chat, "sec", UNKNOWN[1])
    # 没用 on an answer sends that question to staff: it takes the next number then.
    useless = (await chat.press("sec", answered.buttons[1].payload))[0].text
    assert "（提问 3）" in useless
    # Another county counts from 1 on its own.
    assert "（提问 1）" in await _hand_off(chat, "away", UNKNOWN[0])

    rows = await _numbers(sessionmaker)
    queued = [n for _, status, n in rows if status == "pending"]
    assert sorted(queued) == [1, 1, 2, 3]
    assert all(n is None for _, status, n in rows if status != "pending")
    queue = await chat.say("staff", "待答问题")
    assert all(f"提问 {n}" in queue for n in (1, 2, 3)) and "共 3 条" in queue
    assert "共 1 条" in await chat.say("away-staff", "待答问题")


async def test_staff_answer_the_number_the_asker_was_given(chat, sessionmaker):
    await chat.send("sec", KNOWN)
    handed = await _hand_off(chat, "sec", UNKNOWN[0])
    assert "（提问 1）" in handed
    assert "已答复提问 1" in await chat.say("staff", "答复 1 按收益分配方案公示后发放。")
    async with sessionmaker() as s:
        [push] = (await s.scalars(sa.select(OutboxMessage))).all()
    assert "（提问 1）" in push.body["text"] and "公示后发放" in push.body["text"]
    assert "已存为问答" in await chat.say("staff", "存为问答 1")
    # The other county's staff cannot reach it by its number: theirs has no 提问 1.
    assert "没有本县的提问 1" in await chat.say("away-staff", "答复 1 不知道")
