"""Policy questions through the conversation core (ChatDriver -> Inbound -> router -> handlers):
answers with sources and feedback buttons, "did you mean", and the county staff queue round
trip from an unknown question to a new FAQ entry."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from handlers.context import Services
from services import faq_file
from services.faq_index import FaqService
from storage import faq as faq_store
from storage import questions, regions
from storage.faq import FaqDTO
from storage.models import OutboxMessage, Question
from tests.chat import ChatDriver
from tests.factories import bind, make_world
from tests.faqkit import analyzer

UNKNOWN = "村里的光伏电站收益怎么分配给村民"
# Asks what two entries answer (villages per township: F067; households per village: F066).
AMBIGUOUS = "评估抽样每个乡镇抽几个村，每个村抽几户？"


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    await bind(sessionmaker, w.people["sec0"], "test", "sec", clock.now())
    await bind(sessionmaker, w.people["county0"], "test", "staff", clock.now())
    return w


@pytest.fixture
async def chat(sessionmaker, clock, rules, world):
    service = await FaqService.start(sessionmaker, clock.now(), analyzer=analyzer())
    return ChatDriver(sessionmaker, clock, rules, services=Services(faq=service))


async def _questions(sessionmaker) -> list[Question]:
    async with sessionmaker() as s:
        return list(await s.scalars(sa.select(Question).order_by(Question.id)))


async def test_start_up_loads_the_shipped_faq_into_an_empty_table(sessionmaker, chat):
    async with sessionmaker() as s:
        assert await faq_store.count(s) == len(faq_file.read_file(faq_file.SHIPPED))


async def test_known_question_is_answered_with_source_and_feedback_buttons(sessionmaker, chat):
    [reply] = await chat.send("sec", "请问低保渐退多长时间呢？")
    assert "1年" in reply.text and "来源：" in reply.text
    assert [b.label for b in reply.buttons] == ["有用", "没用"]
    [q] = await _questions(sessionmaker)
    assert (q.status, q.faq_id) == ("answered", "F028")
    assert "谢谢" in (await chat.press("sec", reply.buttons[0].payload))[0].text
    [q] = await _questions(sessionmaker)
    assert q.feedback == "useful"


async def test_useless_feedback_queues_the_question_for_county_staff(sessionmaker, chat):
    [reply] = await chat.send("sec", "低保渐退多长时间")
    [after] = await chat.press("sec", reply.buttons[1].payload)
    assert "已转给县里" in after.text
    [q] = await _questions(sessionmaker)
    assert (q.status, q.feedback) == ("pending", "useless")
    assert "低保渐退多长时间" in await chat.say("staff", "待答问题")


async def _suggested(chat):
    """The reply to AMBIGUOUS. Its only policy-like word (评估) counts only in a question, so
    free-text routing first asks whether it is a policy question; 是 goes on to the FAQ."""
    [ask] = await chat.send("sec", AMBIGUOUS)
    assert ask.meta["kind"] == "intent_ask" and [b.label for b in ask.buttons] == ["是", "不是"]
    [reply] = await chat.press("sec", ask.buttons[0].payload)
    assert reply.meta["kind"] == "faq_suggest"
    return reply


async def test_unclear_question_offers_up_to_three_suggestions_and_a_pick_answers(
    sessionmaker, chat
):
    # Two entries on evaluation sampling (villages per township, households per village).
    reply = await _suggested(chat)
    picks = [b for b in reply.buttons if b.payload.startswith("faq:pick:")]
    assert 2 <= len(picks) <= 3 and reply.buttons[-1].label == "都不是"
    chosen = next(b for b in picks if b.payload.endswith(":F067"))
    [answer] = await chat.press("sec", chosen.payload)
    assert "重点乡镇随机抽3个村" in answer.text and "来源" in answer.text
    [q] = await _questions(sessionmaker)
    assert (q.status, q.faq_id) == ("answered", "F067")


async def test_none_of_the_suggestions_hands_the_question_to_staff(sessionmaker, chat):
    reply = await _suggested(chat)
    [after] = await chat.press("sec", reply.buttons[-1].payload)
    assert "已转给县里" in after.text
    [q] = await _questions(sessionmaker)
    assert q.status == "pending"


async def test_another_persons_feedback_button_is_refused(sessionmaker, clock, world, chat):
    await bind(sessionmaker, world.people["sec1"], "test", "sec1", clock.now())
    [reply] = await chat.send("sec", "低保渐退多长时间")
    [other] = await chat.press("sec1", reply.buttons[1].payload)
    assert "失效" in other.text
    [q] = await _questions(sessionmaker)
    assert q.status == "answered" and q.feedback is None


async def test_out_of_domain_question_is_refused_and_queued_not_answered(sessionmaker, chat):
    # Typed as free text it is no policy question (handlers/intent.py) and is not queued;
    # asked with 问 it goes to the FAQ, which cannot answer it.
    [not_queued] = await chat.send("sec", "明天天气怎么样")
    assert "已转给县里" not in not_queued.text and await _questions(sessionmaker) == []
    # (问 leaves the pending "is this a policy question?" first, saying so.)
    dropped, reply = await chat.send("sec", "问 明天天气怎么样")
    assert "不用再回答" in dropped.text
    assert "已转给县里" in reply.text and not reply.buttons
    [q] = await _questions(sessionmaker)
    assert q.status == "pending" and q.faq_id is None


async def test_greeting_is_not_queued(sessionmaker, chat):
    assert "政策问题" in await chat.say("sec", "你好")
    assert await _questions(sessionmaker) == []


async def test_ask_command_forces_a_question(sessionmaker, chat):
    [reply] = await chat.send("sec", "问 低保渐退多长时间")
    assert "1年" in reply.text


async def test_staff_queue_round_trip_answer_push_and_save_as_faq(sessionmaker, world, chat):
    sec = world.people["sec0"]
    [handed] = await chat.send("sec", UNKNOWN)
    assert "已转给县里" in handed.text
    [q] = await _questions(sessionmaker)
    assert q.county_id == world.county.id and q.status == "pending"

    assert q.number == 1 and "（提问 1）" in handed.text
    queue = await chat.say("staff", "待答问题")
    assert "提问 1" in queue and UNKNOWN in queue and sec.name in queue

    staff_answer = "按村集体经济收益分配方案，经村民代表大会通过后公示发放。"
    replied = await chat.say("staff", f"答复 1 {staff_answer}")
    assert "已答复提问 1" in replied and "存为问答 1" in replied
    async with sessionmaker() as s:
        rows = list(
            await s.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient_id == sec.id))
        )
    assert len(rows) == 1
    assert staff_answer in rows[0].body["text"] and UNKNOWN in rows[0].body["text"]
    assert "目前没有待答问题" in await chat.say("staff", "待答问题")

    saved = await chat.say("staff", "存为问答 1")
    assert f"Q{q.id}" in saved  # the FAQ entry's own id: entries are shared by every county
    assert "已经存为问答" in await chat.say("staff", "存为问答 1")

    [again] = await chat.send("sec", UNKNOWN)
    assert staff_answer in again.text and "县级工作人员答复" in again.text
    assert [b.label for b in again.buttons] == ["有用", "没用"]


async def test_staff_cannot_answer_another_countys_question(sessionmaker, clock, world, chat):
    await chat.send("sec", UNKNOWN)
    [q] = await _questions(sessionmaker)
    async with sessionmaker() as s, s.begin():
        other = await regions.add(s, "county", "邻县")
        from storage import people

        stranger = await people.add(
            s, name="邻县干部", role="county_staff", region_id=other.id, now=clock.now()
        )
    await bind(sessionmaker, stranger, "test", "stranger", clock.now())
    assert "目前没有待答问题" in await chat.say("stranger", "待答问题")
    assert "没有本县的提问 1" in await chat.say("stranger", f"答复 {q.number} 不知道")
    [q] = await _questions(sessionmaker)
    assert q.status == "pending" and q.answer is None


async def test_secretary_cannot_use_staff_commands(chat):
    assert "不能使用" in await chat.say("sec", "待答问题")
    assert "不能使用" in await chat.say("sec", "答复 1 好的")


async def test_save_needs_an_answer_first(sessionmaker, chat):
    await chat.send("sec", UNKNOWN)
    [q] = await _questions(sessionmaker)
    assert "还没有答复" in await chat.say("staff", f"存为问答 {q.number}")


async def test_faq_changed_elsewhere_is_picked_up_by_the_next_question(sessionmaker, clock, chat):
    async with sessionmaker() as s, s.begin():
        await faq_store.upsert_many(
            s,
            [FaqDTO("X1", "村级光伏电站收益怎么分配", "按村集体收益分配方案公示后发放。", ())],
            clock.now(),
        )
    [reply] = await chat.send("sec", UNKNOWN)
    assert "公示后发放" in reply.text


async def test_staff_queue_is_bounded_and_says_how_many_more(sessionmaker, clock, world, chat):
    async with sessionmaker() as s, s.begin():
        for n in range(12):
            await questions.record(
                s,
                asked_by=world.people["sec0"].id,
                county_id=world.county.id,
                text=f"第{n}个没人答过的问题",
                status="pending",
                now=clock.now(),
            )
    queue = await chat.say("staff", "待答问题")
    assert "共 12 条" in queue and "……还有 2 条" in queue
    assert "第9个" in queue and "第10个" not in queue


async def test_bad_question_numbers_are_refused_politely(chat):
    assert "答复 编号 内容" in await chat.say("staff", "答复 99999999999999999999 好的")
    assert "存为问答 编号" in await chat.say("staff", "存为问答 abc")
    assert "没有本县的提问 7" in await chat.say("staff", "答复 7 好的")
    assert "答复 编号 内容" in await chat.say("staff", "答复 12")
