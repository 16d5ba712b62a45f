"""Flows that never trap (issue 12, items 3 and 9): a command word leaves a flow and says what
was dropped, a typed button label presses the button, one bad field re-asks only that field, a
card waiting for 确认 is not replaced silently, and 修改 记录号 N edits record N."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage.models import Audit, Conversation, Visit
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world

PRESS_BUTTON = "请点上面的按钮选择"


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        v0, v1 = w.villages[0].id, w.villages[1].id
        w.hh = {  # type: ignore[attr-defined]
            "王三女": (await add_household(s, v0, "HH0001", "王三女", "监测户", clock.now())).id,
            "李桂芳": (await add_household(s, v0, "HH0002", "李桂芳", "脱贫户", clock.now())).id,
            "赵德明": (await add_household(s, v1, "HH1001", "赵德明", "监测户", clock.now())).id,
        }
    for key in ("sec0", "sec1", "county0"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


@pytest.fixture
def chat(sessionmaker, clock, rules):
    return ChatDriver(sessionmaker, clock, rules)


def texts(replies) -> str:
    return "\n".join(r.text for r in replies)


def labels(replies) -> list[str]:
    return [b.label for r in replies for b in r.buttons]


async def rows(sessionmaker, model, *where):
    async with sessionmaker() as s:
        key = getattr(model, "id", None) or model.person_id
        return list(await s.scalars(sa.select(model).where(*where).order_by(key)))


async def test_command_word_inside_a_flow_leaves_it_and_says_what_was_dropped(
    chat, world, sessionmaker
):
    await chat.send("sec0", "走访")
    await chat.press("sec0", f"visit:hh:{world.hh['王三女']}")  # now at the first check
    left = texts(await chat.send("sec0", "本月走访"))
    assert "（未完成的走访记录已丢弃。）" in left
    assert PRESS_BUTTON not in left
    assert "走访进度" in left  # the progress itself was answered
    assert await rows(sessionmaker, Conversation) == []
    assert await rows(sessionmaker, Visit) == []
    # 问题 from inside a flow also leaves it
    await chat.send("sec0", "走访 王三女 饮水正常")
    problems = texts(await chat.send("sec0", "问题"))
    assert "（未完成的走访记录已丢弃。）" in problems and PRESS_BUTTON not in problems
    assert await rows(sessionmaker, Conversation) == []


async def test_typing_a_button_label_presses_it(chat, world, sessionmaker):
    await chat.send("sec0", "走访")
    await chat.press("sec0", f"visit:hh:{world.hh['王三女']}")
    for _ in range(5):  # the five core checks, each answered by typing the label
        reply = await chat.send("sec0", "正常")
        assert PRESS_BUTTON not in texts(reply)
    assert "跳过" in labels(reply)  # the note step
    await chat.send("sec0", "跳过")
    await chat.send("sec0", "下一步")
    summary = await chat.send("sec0", "跳过")
    assert labels(summary) == ["确认", "修改"]
    # 修改 is also a command word: as the label of a shown button it presses the button
    edit = await chat.send("sec0", "修改")
    assert "正常" in labels(edit) and "（未完成" not in texts(edit)
    for word in ("正常", "正常", "正常", "正常", "正常", "跳过", "下一步", "跳过"):
        await chat.send("sec0", word)
    assert "已保存 王三女" in texts(await chat.send("sec0", "确认"))
    [visit] = await rows(sessionmaker, Visit)
    assert all(v["status"] == "ok" for v in visit.checklist.values())
    assert len(visit.checklist) == 5


async def test_bad_deadline_re_asks_only_the_deadline_and_commands_still_work(
    chat, world, sessionmaker
):
    again = await chat.say("county0", "发任务 核对低保名单 / 截止 昨天 / 范围 全县")
    assert "截止时间" in again
    # the title and the scope were kept: a good deadline goes straight to the preview
    preview = await chat.say("county0", "本周五")
    assert "核对低保名单" in preview and "个村" in preview
    sent = await chat.say("county0", "确认发送")
    assert "已发出任务「核对低保名单」" in sent
    assert await rows(sessionmaker, Conversation) == []
    # a bad deadline, then a county command: it leaves the draft instead of re-asking forever
    await chat.say("county0", "发任务 上报危房改造进度 / 截止 昨天")
    waiting = await chat.say("county0", "待审核")
    assert "（未发出的任务草稿已丢弃。）" in waiting and "没看懂截止时间" not in waiting
    later = await chat.say("county0", "进度")
    assert "没看懂截止时间" not in later and "未发出" not in later


async def test_new_report_while_a_card_waits_asks_before_replacing_it(chat, world, sessionmaker):
    await chat.send("sec0", "走访 王三女 饮水正常")
    ask = await chat.send("sec0", "走访 李桂芳 屋顶漏雨")
    assert "王三女的走访还没确认，先保存吗？" in texts(ask)
    assert labels(ask) == ["保存", "丢弃"]
    assert await rows(sessionmaker, Visit) == []
    saved = await chat.send("sec0", "保存")  # typing the label presses it
    assert "已保存 王三女" in texts(saved) and "李桂芳" in texts(saved)
    assert labels(saved) == ["确认", "修改"]  # the new report's card
    # a third report while 李桂芳's card waits: 丢弃 drops it and shows the new card
    await chat.send("sec0", "走访 王三女 医保已交")
    dropped = await chat.press("sec0", "visit:replace:drop")
    assert "李桂芳未确认的走访记录已丢弃" in texts(dropped)
    assert "王三女" in texts(dropped) and labels(dropped) == ["确认", "修改"]
    [visit] = await rows(sessionmaker, Visit)  # 李桂芳's dropped card was never saved
    assert visit.household_id == world.hh["王三女"]


async def test_amend_by_record_number_edits_that_record_and_keeps_the_note(
    chat, world, sessionmaker, clock
):
    await chat.send("sec0", "走访 王三女 收入不稳定")
    await chat.press("sec0", "visit:confirm")
    await chat.send("sec0", "走访 李桂芳 饮水正常")
    await chat.press("sec0", "visit:confirm")
    first, second = await rows(sessionmaker, Visit)
    assert first.household_id == world.hh["王三女"]

    summary = await chat.send("sec0", f"修改 记录号 {first.id} 收入正常 家里人都在")
    assert "王三女" in texts(summary) and "记录号；" not in texts(summary)
    assert "已修改" in texts(await chat.press("sec0", "visit:confirm"))
    amended, untouched = await rows(sessionmaker, Visit)
    assert amended.id == first.id
    assert amended.checklist["income"]["status"] == "ok"
    assert amended.note == "收入正常 家里人都在"  # the user's text exactly, without 记录号 N
    assert (untouched.checklist, untouched.note) == (second.checklist, second.note)
    [entry] = await rows(sessionmaker, Audit, Audit.action == "visit.amend")
    assert entry.object == f"visit:{first.id}"

    # another village's record and an unknown one are refused alike, in Chinese
    await chat.send("sec1", "走访 赵德明 饮水正常")
    await chat.press("sec1", "visit:confirm")
    foreign = (await rows(sessionmaker, Visit, Visit.household_id == world.hh["赵德明"]))[0]
    for record in (foreign.id, 99999):
        refused = await chat.say("sec0", f"修改 记录号 {record} 收入正常")
        assert f"没有可修改的记录号 {record}" in refused
    assert [a.id for a in await rows(sessionmaker, Audit, Audit.action == "visit.amend")] == [
        entry.id
    ]
