"""Visit reports read as a careful clerk would, end to end through Inbound on the database:
the note is the user's text exactly, an unsure clause is asked on the card (never guessed),
and only a confident problem opens a rectification."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage.models import Problem, Visit
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        v0 = w.villages[0].id
        await add_household(s, v0, "HH0001", "王三女", "监测户", clock.now())
        await add_household(s, v0, "HH0002", "李桂芳", "脱贫户", clock.now())
    await bind(sessionmaker, w.people["sec0"], "test", "sec0", clock.now())
    return w


@pytest.fixture
def chat(sessionmaker, clock, rules):
    return ChatDriver(sessionmaker, clock, rules)


def payloads(replies) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


def texts(replies) -> str:
    return "\n".join(r.text for r in replies)


async def rows(sessionmaker, model):
    async with sessionmaker() as s:
        return list(await s.scalars(sa.select(model).order_by(model.id)))


async def test_note_with_slash_and_colon_is_stored_exactly(chat, world, sessionmaker):
    said = "饮水：正常，医保已交/大病保险也交了 老人血压160/100，腿脚：不便"
    card = await chat.send("sec0", f"走访 王三女 {said}")
    assert f"备注：{said}" in texts(card)
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    assert visit.note == said
    assert visit.checklist["water"]["status"] == "ok"
    assert visit.checklist["medical"]["status"] == "ok"


async def test_uncertain_clause_is_asked_and_no_rectification_opened(chat, world, sessionmaker):
    card = await chat.send("sec0", "走访 王三女 饮水正常 房子好像有点旧了")
    assert "住房：有问题吗？" in texts(card)
    assert "房子好像有点旧了" in texts(card)
    assert payloads(card) == [
        "visit:chk:housing:problem",
        "visit:chk:housing:ok",
        "visit:chk:housing:skip",
    ]
    # 确认 of the card is not offered, and an older 确认 does not save a guess.
    again = await chat.press("sec0", "visit:confirm")
    assert "住房：有问题吗？" in texts(again)
    assert await rows(sessionmaker, Visit) == []
    done = await chat.press("sec0", "visit:chk:housing:skip")
    assert "visit:confirm" in payloads(done)
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    assert "housing" not in visit.checklist and visit.checklist["water"]["status"] == "ok"
    assert await rows(sessionmaker, Problem) == []


async def test_unsure_clause_answered_as_a_problem_opens_one_with_the_users_words(
    chat, world, sessionmaker
):
    await chat.send("sec0", "走访 王三女 房子好像有点旧了")
    card = await chat.send("sec0", "有问题")  # typing the button's label presses it
    assert "住房安全：有问题（房子好像有点旧了）" in texts(card)
    saved = await chat.press("sec0", "visit:confirm")
    assert "发现 1 个问题" in texts(saved)
    [problem] = await rows(sessionmaker, Problem)
    assert problem.description == "房子好像有点旧了"


async def test_forged_answer_for_a_check_not_asked_changes_nothing(chat, world, sessionmaker):
    await chat.send("sec0", "走访 王三女 饮水正常 房子好像有点旧了")
    card = await chat.press("sec0", "visit:chk:credit:problem")
    assert "住房：有问题吗？" in texts(card)
    await chat.press("sec0", "visit:chk:housing:ok")
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    assert set(visit.checklist) == {"water", "housing"}
    assert visit.checklist["housing"] == {"status": "ok", "text": "房子好像有点旧了"}


async def test_renovated_house_is_not_a_problem(chat, world, sessionmaker):
    card = await chat.send("sec0", "走访 李桂芳 住房是危房改造过的，吃水没问题")
    assert "住房安全：正常（住房是危房改造过的）" in texts(card)
    saved = await chat.press("sec0", "visit:confirm")
    assert "问题" not in texts(saved)
    assert await rows(sessionmaker, Problem) == []


async def test_structured_report_reads_every_check(chat, world, sessionmaker):
    card = await chat.send(
        "sec0",
        "走访 王三女 饮水：正常；教育：正常；医疗：正常；住房：安全；收入：稳定；"
        "就业：公益岗在岗；产业：养牛正常；信贷：无逾期；保障：低保按月领取",
    )
    assert "未查看" not in texts(card) and "有问题" not in texts(card)
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    assert {k: v["status"] for k, v in visit.checklist.items()} == dict.fromkeys(
        (
            "water",
            "education",
            "medical",
            "housing",
            "income",
            "employment",
            "industry",
            "credit",
            "security",
        ),
        "ok",
    )


async def test_glued_report_reads_each_check(chat, world, sessionmaker):
    card = await chat.send("sec0", "走访 王三女饮水正常医保已交屋顶漏雨")
    assert "饮水安全：正常（饮水正常）" in texts(card)
    assert "基本医疗：正常（医保已交）" in texts(card)
    assert "住房安全：有问题（屋顶漏雨）" in texts(card)
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    assert visit.note == "饮水正常医保已交屋顶漏雨"
    [problem] = await rows(sessionmaker, Problem)
    assert problem.kind == "住房安全"
