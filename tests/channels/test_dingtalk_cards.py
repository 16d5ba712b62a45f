"""DingTalk ActionCards end to end: a push with buttons goes out as an ActionCard (checked by
the fake DingTalk API) whose links make the client send the menu number; that number, sent by
the signing callback client as DingTalk would, is the button press. Buttons that do not fit a
card, a refused card and cards switched off give the numbered text menu."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from bot import appkeys as appmod
from bot.channels import texts as channel_texts
from bot.channels.dingtalk import cards
from core.messages import Button, Reply
from storage.models import Assignment, InboxMessage
from tasks.delivery import Delivery
from tests.channels import test_dingtalk
from tests.channels.test_dingtalk import DingTalkRig
from tests.chat import ChatDriver
from tests.factories import bind, make_world
from tests.fakes.dingtalk_api import FakeDingTalkApi, card_buttons, param_problem, shown
from tests.fakes.harness import DT_APP_KEY, DT_APP_SECRET, DT_ROBOT, drain, make_config, start_app

USER = "wang"
rig = test_dingtalk.rig  # the fixture: the app with DingTalk on, the fake API, the client


async def _secretary(rig: DingTalkRig, clock):
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "dingtalk", USER, clock.now())
    return world


async def _push_task(rig: DingTalkRig, clock, world, title: str = "张贴政策明白纸") -> None:
    """County staff send a task to 石门村 from another chat; the delivery worker pushes it."""
    sm = rig.app[appmod.SESSIONMAKER]
    staff = ChatDriver(sm, clock, rig.app[appmod.RULES], services=rig.app[appmod.SERVICES])
    await bind(sm, world.people["county0"], "test", "staff-1", clock.now())
    sent = await staff.dispatch("staff-1", f"发任务 {title} / 截止 本周五 / 范围 石门村")
    assert "给 1 个村" in sent
    delivery = Delivery(sm, clock, rig.app[appmod.RULES], rig.app[appmod.SENDERS])
    assert await delivery.run_once() == 1


async def _send_text(rig: DingTalkRig, text: str) -> None:
    assert (await rig.post(rig.client.text(USER, text, rig.now_ms)))[0] == 200
    await drain(rig.app)


async def test_task_push_is_an_action_card_whose_first_button_acks_once(
    rig: DingTalkRig, clock
) -> None:
    world = await _secretary(rig, clock)
    await _push_task(rig, clock, world)
    [card] = rig.api.cards_to(USER)
    assert rig.api.texts_to(USER) == []  # the whole push is the card
    assert card["msgKey"] == "sampleActionCard2"
    assert card_buttons(card) == [("收到", "1"), ("已完成", "2")]
    assert card["actionURL1"] == "dtmd://dingtalkclient/sendMessage?content=1"
    assert "张贴政策明白纸" in card["title"] and len(card["title"]) <= cards.TITLE_CHARS
    text = shown(card["text"])
    assert "张贴政策明白纸" in text and "截止" in text
    assert "1. 收到" in text and "2. 已完成" in text and channel_texts.MENU_HINT in text
    # The tap: the client sends what the link says, a plain "1", delivered twice by DingTalk.
    body = rig.client.text(USER, card_buttons(card)[0][1], rig.now_ms)
    for _ in range(2):
        assert (await rig.post(body))[0] == 200
    await drain(rig.app)
    async with rig.app[appmod.SESSIONMAKER]() as s:
        rows = await s.scalars(sa.select(InboxMessage).where(InboxMessage.channel == "dingtalk"))
        [row] = rows.all()
        assignment = await s.scalar(
            sa.select(Assignment).where(Assignment.assignee_id == world.people["sec0"].id)
        )
    assert row.payload["kind"] == "button" and row.payload["payload"].startswith("item:ack:")
    assert assignment.status == "acked"
    [answer] = rig.api.texts_to(USER)
    assert "已确认收到「张贴政策明白纸」" in answer


async def test_one_button_is_a_single_action_card_and_markdown_is_escaped(
    rig: DingTalkRig,
) -> None:
    sender = rig.app[appmod.SENDERS]["dingtalk"]
    text = "# 不是标题\n**不是粗体** [不是链接](x) <b>\n1. 不是列表"
    reply = Reply(text, (Button("知道了*", "help:x"),))
    assert (await sender.send("u1", reply.to_dict())).ok
    [card] = rig.api.cards_to("u1")
    assert card["msgKey"] == "sampleActionCard" and card["singleTitle"] == "知道了*"
    assert card["singleURL"] == "dtmd://dingtalkclient/sendMessage?content=1"
    assert card["title"] == "# 不是标题"  # the title is plain text, not markdown
    assert card["text"] == (  # escaped, and each line a line (two spaces: a hard break)
        "\\# 不是标题  \n"
        "\\*\\*不是粗体\\*\\* \\[不是链接\\](x) \\<b\\>  \n"
        "1\\. 不是列表\n\n"
        "1\\. 知道了\\*\n\n"
        "（回复数字即可选择）"
    )
    assert shown(card["text"]).startswith(text)  # what the person reads is the text as typed


async def test_more_than_five_buttons_or_a_long_label_keep_the_numbered_menu(
    rig: DingTalkRig,
) -> None:
    sender = rig.app[appmod.SENDERS]["dingtalk"]
    six = tuple(Button(f"村{i}", f"p:{i}") for i in range(6))
    long_label = (Button("好", "p:a"), Button("长" * (cards.LABEL_CHARS + 1), "p:b"))
    five = tuple(Button(f"村{i}", f"p:{i}") for i in range(5))
    for buttons in (six, long_label, five):
        assert (await sender.send("u1", Reply("选一个", buttons).to_dict())).ok
    first, second = rig.api.texts_to("u1")
    assert "6. 村5" in first and "2. " + "长" * (cards.LABEL_CHARS + 1) in second
    [card] = rig.api.cards_to("u1")
    assert card["msgKey"] == "sampleActionCard5" and card["actionURL5"].endswith("content=5")


async def test_card_answered_with_an_errcode_goes_out_once_as_the_numbered_menu(
    rig: DingTalkRig, clock
) -> None:
    await _secretary(rig, clock)
    rig.api.refuse_cards = 300001  # HTTP 200, but an errcode: the card was not taken
    reply = Reply("请确认", (Button("确认", "help:x"), Button("稍后", "help:y")))
    assert (await rig.app[appmod.SENDERS]["dingtalk"].send(USER, reply.to_dict())).ok
    assert rig.api.send_calls == 2 and rig.api.cards_to(USER) == []
    assert rig.api.texts_to(USER) == ["请确认\n1. 确认\n2. 稍后\n（回复数字即可选择）"]
    await _send_text(rig, "2")  # the menu the person got is the one remembered
    async with rig.app[appmod.SESSIONMAKER]() as s:
        [row] = (await s.scalars(sa.select(InboxMessage))).all()
    assert row.payload["kind"] == "button" and row.payload["payload"] == "help:y"


async def test_rate_limited_card_waits_and_is_not_sent_as_text(rig: DingTalkRig) -> None:
    rig.api.throttled_users.add("busy")
    reply = Reply("请确认", (Button("确认", "help:x"),))
    result = await rig.app[appmod.SENDERS]["dingtalk"].send("busy", reply.to_dict())
    assert not result.ok and result.retry_after and rig.api.send_calls == 1


async def test_cards_switched_off_send_the_numbered_menu(
    engine, database_url, tmp_path: Path, clock
) -> None:
    api = FakeDingTalkApi(DT_APP_KEY, DT_APP_SECRET, DT_ROBOT)
    config = make_config(database_url, tmp_path, dingtalk_base=await api.start())
    config.channels["dingtalk"] = config.channels["dingtalk"].model_copy(update={"cards": False})
    server = await start_app(config, clock)
    try:
        reply = Reply("新任务", (Button("收到", "task:ack:1"),))
        assert (await server.app[appmod.SENDERS]["dingtalk"].send("u1", reply.to_dict())).ok
        assert api.cards_to("u1") == []
        assert api.texts_to("u1") == ["新任务\n1. 收到\n（回复数字即可选择）"]
    finally:
        await server.close()
        await api.close()


def test_the_fake_refuses_cards_dingtalk_would_refuse() -> None:
    good = cards.build(Reply("x", (Button("a", "p:a"), Button("b", "p:b"))))
    assert good is not None and param_problem(*good) is None
    key, raw = good
    param = json.loads(raw)
    assert param_problem(key, param) == "msgParam is not a JSON string"
    assert param_problem("sampleActionCard3", raw) is not None  # fields of another key
    https = param | {"actionURL2": "https://example.org/?content=2"}
    assert "dtmd" in str(param_problem(key, json.dumps(https)))
    assert param_problem("sampleActionCard6", raw) == "unknown msgKey sampleActionCard6"
