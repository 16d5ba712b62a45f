"""WeCom template cards end to end: pushes and replies with buttons go out as
``button_interaction`` cards (checked by the fake WeCom API), a tap comes back as an encrypted
``template_card_event`` (from the independent client), is the same button press as anywhere,
and its card is updated once with the tap's response code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bot import appkeys as appmod
from bot.channels.wecom.cards import TASK_ID, build, press_of
from bot.channels.wecom.channel import CHANNEL_KEY
from core.messages import Button, Reply
from handlers import visit_texts
from storage.models import Assignment, ChannelCard, InboxMessage, Visit
from tasks.delivery import Delivery
from tests.channels import test_wecom
from tests.channels.test_wecom import WeComRig
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world
from tests.fakes.harness import drain, make_config, start_app
from tests.fakes.wecom_api import BAD_CODE
from tests.fakes.wecom_client import card_event_xml, text_xml

USER = "wang"
rig = test_wecom.rig  # the fixture: the app with WeCom on, the fake API, the client


async def _secretary(rig: WeComRig, clock):
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", USER, clock.now())
    return world


async def _push_task(rig: WeComRig, clock, world, title: str = "张贴政策明白纸") -> dict:
    """County staff send a task to 石门村 from another chat; the delivery worker pushes it."""
    sm = rig.app[appmod.SESSIONMAKER]
    staff = ChatDriver(sm, clock, rig.app[appmod.RULES], services=rig.app[appmod.SERVICES])
    await bind(sm, world.people["county0"], "test", "staff-1", clock.now())
    sent = await staff.dispatch("staff-1", f"发任务 {title} / 截止 本周五 / 范围 石门村")
    assert "给 1 个村" in sent
    delivery = Delivery(sm, clock, rig.app[appmod.RULES], rig.app[appmod.SENDERS])
    assert await delivery.run_once() == 1
    return rig.api.cards_to(USER)[-1]


async def _tap(rig: WeComRig, card: dict, label: str, code: str, at: int | None = None) -> int:
    [key] = [b["key"] for b in card["button_list"] if b["text"] == label]
    xml = card_event_xml(USER, key, card["task_id"], code, rig.now if at is None else at)
    status = (await rig.post(xml)).status
    await drain(rig.app)
    return status


async def _assignment(rig: WeComRig, world) -> Assignment:
    async with rig.app[appmod.SESSIONMAKER]() as s:
        return await s.scalar(
            sa.select(Assignment).where(Assignment.assignee_id == world.people["sec0"].id)
        )


async def _card_row(rig: WeComRig, task_id: str) -> ChannelCard:
    async with rig.app[appmod.SESSIONMAKER]() as s:
        return await s.scalar(sa.select(ChannelCard).where(ChannelCard.card_id == task_id))


async def test_task_push_arrives_as_a_card_with_its_buttons(rig: WeComRig, clock) -> None:
    world = await _secretary(rig, clock)
    card = await _push_task(rig, clock, world)
    assert card["card_type"] == "button_interaction"
    assert "张贴政策明白纸" in card["main_title"]["title"]
    assert [b["text"] for b in card["button_list"]] == ["收到", "已完成"]
    assert [b["key"] for b in card["button_list"]] == ["item:ack:t:1", "item:done:t:1"]
    assert [b["style"] for b in card["button_list"]] == [1, 2]
    assert "截止" in card["sub_title_text"]
    assert TASK_ID.fullmatch(card["task_id"])
    assert rig.api.texts_to(USER) == []  # the whole push is the card
    row = await _card_row(rig, card["task_id"])
    assert row.external_id == USER and row.response_code is None
    assert [label for label, _ in row.buttons] == ["收到", "已完成"]


async def test_tap_on_收到_delivered_twice_acks_once_and_updates_the_card_once(
    rig: WeComRig, clock
) -> None:
    world = await _secretary(rig, clock)
    card = await _push_task(rig, clock, world)
    code = rig.api.tap_code(card["task_id"])
    for _ in range(2):  # WeCom resends a callback it got no answer for in time
        assert await _tap(rig, card, "收到", code) == 200
    async with rig.app[appmod.SESSIONMAKER]() as s:
        taps = await s.scalars(sa.select(InboxMessage).where(InboxMessage.channel == "wecom"))
        assert len(taps.all()) == 1
    assert (await _assignment(rig, world)).status == "acked"
    [answer] = rig.api.shown_to(USER)[1:]
    assert "已确认收到「张贴政策明白纸」" in answer
    [update] = rig.api.card_updates
    assert update["response_code"] == code and update["userids"] == [USER]
    assert update["button"] == {"replace_name": "已确认收到"}
    row = await _card_row(rig, card["task_id"])
    assert row.response_code == code and row.outcome == "updated"


async def test_a_spent_response_code_or_answered_card_is_not_updated_again(
    rig: WeComRig, clock
) -> None:
    world = await _secretary(rig, clock)
    card = await _push_task(rig, clock, world)
    code = rig.api.tap_code(card["task_id"])
    assert await _tap(rig, card, "收到", code) == 200
    clock.advance(seconds=5)
    # The same code in a new event (a replay), then a second tap with a fresh code: both are
    # presses (answered as such), but the card was answered and the code spent.
    assert await _tap(rig, card, "收到", code) == 200
    clock.advance(seconds=5)
    assert await _tap(rig, card, "已完成", rig.api.tap_code(card["task_id"])) == 200
    assert len(rig.api.card_updates) == 1 and rig.api.refused_updates == []
    assert len(rig.api.shown_to(USER)) == 4  # the card and three answers


async def test_fake_refuses_a_response_code_used_twice(rig: WeComRig, clock) -> None:
    world = await _secretary(rig, clock)
    card = await _push_task(rig, clock, world)
    api = rig.app[CHANNEL_KEY].api
    code = rig.api.tap_code(card["task_id"])
    body = {"userids": [USER], "agentid": 1000002, "response_code": code}
    body["button"] = {"replace_name": "已确认收到"}
    assert (await api.update_template_card(body))["errcode"] == 0
    assert (await api.update_template_card(body))["errcode"] == BAD_CODE


async def test_update_wecom_refuses_is_recorded_and_not_retried(rig: WeComRig, clock) -> None:
    world = await _secretary(rig, clock)
    card = await _push_task(rig, clock, world)
    # A code WeCom no longer takes (spent elsewhere, or gone): the press still counts.
    assert await _tap(rig, card, "收到", "RC-not-known-to-wecom") == 200
    assert (await _assignment(rig, world)).status == "acked"
    [refused] = rig.api.refused_updates
    assert refused["response_code"] == "RC-not-known-to-wecom"
    row = await _card_row(rig, card["task_id"])
    assert row.outcome.startswith(f"refused errcode={BAD_CODE}")
    delivery = Delivery(
        rig.app[appmod.SESSIONMAKER], clock, rig.app[appmod.RULES], rig.app[appmod.SENDERS]
    )
    clock.advance(timedelta(minutes=10))
    await delivery.run_once()
    await drain(rig.app)
    assert len(rig.api.refused_updates) == 1 and rig.api.card_updates == []


async def test_tap_older_than_72_hours_counts_but_spends_no_code(rig: WeComRig, clock) -> None:
    world = await _secretary(rig, clock)
    card = await _push_task(rig, clock, world)
    old = rig.now - 73 * 3600
    assert await _tap(rig, card, "收到", rig.api.tap_code(card["task_id"]), at=old) == 200
    assert (await _assignment(rig, world)).status == "acked"
    assert rig.api.card_updates == [] and rig.api.refused_updates == []
    assert (await _card_row(rig, card["task_id"])).response_code is None


async def test_tap_on_a_card_not_sent_to_this_person_updates_nothing(rig: WeComRig, clock) -> None:
    world = await _secretary(rig, clock)
    card = await _push_task(rig, clock, world)
    await bind(rig.app[appmod.SESSIONMAKER], world.people["sec1"], "wecom", "li", clock.now())
    xml = card_event_xml("li", card["button_list"][0]["key"], card["task_id"], "RC-li", rig.now)
    assert (await rig.post(xml)).status == 200
    await drain(rig.app)
    assert (await _assignment(rig, world)).status != "acked"  # li's press is li's, refused
    assert rig.api.card_updates == [] and rig.api.refused_updates == []
    assert (await _card_row(rig, card["task_id"])).response_code is None


async def test_card_wecom_refuses_becomes_the_numbered_menu(rig: WeComRig, clock) -> None:
    world = await _secretary(rig, clock)
    rig.api.refuse_cards = 40008  # e.g. a message type this corp's WeCom does not take
    sm = rig.app[appmod.SESSIONMAKER]
    staff = ChatDriver(sm, clock, rig.app[appmod.RULES], services=rig.app[appmod.SERVICES])
    await bind(sm, world.people["county0"], "test", "staff-1", clock.now())
    await staff.dispatch("staff-1", "发任务 核查危房 / 截止 本周五 / 范围 石门村")
    assert await Delivery(sm, clock, rig.app[appmod.RULES], rig.app[appmod.SENDERS]).run_once()
    [push] = rig.api.texts_to(USER)
    assert "核查危房" in push and push.splitlines()[-3:-1] == ["1. 收到", "2. 已完成"]
    assert rig.api.cards_to(USER) == []
    await rig.post(text_xml(USER, "1", "n-1", rig.now))
    await drain(rig.app)
    assert (await _assignment(rig, world)).status == "acked"


async def test_visit_confirm_card_tap_saves_the_visit(rig: WeComRig, clock) -> None:
    world = await _secretary(rig, clock)
    async with rig.app[appmod.SESSIONMAKER]() as s, s.begin():
        household = await add_household(
            s, world.villages[0].id, "HH0001", "王三女", "监测户", clock.now()
        )
    report = "走访 王三女 饮水正常 孩子都在上学 医保已交 住房安全 收入稳定"
    await rig.post(text_xml(USER, report, "v-1", rig.now))
    await drain(rig.app)
    card = rig.api.cards_to(USER)[-1]
    assert "王三女" in card["main_title"]["title"] + card.get("sub_title_text", "")
    labels = [b["text"] for b in card["button_list"]]
    assert visit_texts.BTN_CONFIRM in labels and visit_texts.BTN_EDIT in labels
    code = rig.api.tap_code(card["task_id"])
    assert await _tap(rig, card, visit_texts.BTN_CONFIRM, code) == 200
    async with rig.app[appmod.SESSIONMAKER]() as s:
        visit = await s.scalar(sa.select(Visit).where(Visit.household_id == household.id))
    assert visit is not None and visit.visitor_id == world.people["sec0"].id
    assert "已保存 王三女 的走访" in rig.api.shown_to(USER)[-1]
    [update] = rig.api.card_updates
    assert update["button"] == {"replace_name": f"已选择「{visit_texts.BTN_CONFIRM}」"}


async def test_text_too_long_for_a_card_goes_first_and_the_card_follows(rig: WeComRig) -> None:
    sender = rig.app[appmod.SENDERS]["wecom"]
    body = "说明：" + "请各村在周五前完成张贴。" * 20
    reply = Reply(f"📋 县里新任务（任务 9）：张贴\n{body}", (Button("收到", "task:ack:9"),))
    assert (await sender.send("u1", reply.to_dict())).ok
    [text] = rig.api.texts_to("u1")
    [card] = rig.api.cards_to("u1")
    assert text == reply.text
    assert card["main_title"]["title"] == "📋 县里新任务（任务 9）：张贴"
    assert "sub_title_text" not in card


async def test_refused_card_after_its_text_sends_only_the_menu(rig: WeComRig) -> None:
    rig.api.refuse_cards = 40008
    sender = rig.app[appmod.SENDERS]["wecom"]
    reply = Reply("标题\n" + "很长的说明。" * 40, (Button("收到", "task:ack:9"),))
    assert (await sender.send("u1", reply.to_dict())).ok
    assert rig.api.texts_to("u1") == [reply.text, "1. 收到\n（回复数字即可选择）"]


async def test_buttons_that_do_not_fit_a_card_keep_the_numbered_menu(rig: WeComRig) -> None:
    sender = rig.app[appmod.SENDERS]["wecom"]
    seven = tuple(Button(f"村{i}", f"pick:{i}") for i in range(7))
    long_label = (Button("是同一次走访，合并记录", "visit:merge"),)
    for buttons in (seven, long_label):
        assert (await sender.send("u1", Reply("选一个", buttons).to_dict())).ok
    assert rig.api.cards_to("u1") == []
    first, second = rig.api.texts_to("u1")
    assert "7. 村6" in first and "1. 是同一次走访，合并记录" in second


async def test_cards_switched_off_send_the_numbered_menu(
    engine, database_url, tmp_path: Path, clock
) -> None:
    from tests.fakes.harness import CORP_ID, SECRET
    from tests.fakes.wecom_api import FakeWeComApi

    api = FakeWeComApi(CORP_ID, SECRET)
    config = make_config(database_url, tmp_path, wecom_base=await api.start())
    config.channels["wecom"] = config.channels["wecom"].model_copy(update={"cards": False})
    server = await start_app(config, clock)
    try:
        reply = Reply("新任务", (Button("收到", "task:ack:1"),))
        assert (await server.app[appmod.SENDERS]["wecom"].send("u1", reply.to_dict())).ok
        assert api.cards_to("u1") == [] and api.texts_to("u1") == [
            "新任务\n1. 收到\n（回复数字即可选择）"
        ]
    finally:
        await server.close()
        await api.close()


def test_card_holds_a_36_character_title_and_a_160_character_rest_else_text_leads() -> None:
    ack = (Button("收到", "item:ack:t:1"),)
    fits = build(Reply("题" * 36 + "\n" + "文" * 160, ack), "t1")
    assert fits is not None and fits.lead == "" and fits.body["sub_title_text"] == "文" * 160
    longer = build(Reply("题" * 37 + "\n短", ack), "t2")
    assert longer is not None and longer.lead == "题" * 37 + "\n短"
    assert longer.body["main_title"]["title"] == "题" * 35 + "…"
    only_buttons = build(Reply("", ack), "t3")
    assert only_buttons is not None and only_buttons.body["main_title"]["title"] == "请选择"
    assert build(Reply("重复", (Button("是", "x"), Button("对", "x"))), "t4") is None


def test_card_event_with_a_forged_task_id_is_a_press_without_a_card() -> None:
    at = datetime(2026, 11, 10, tzinfo=UTC)
    event = {"MsgType": "event", "Event": "template_card_event", "EventKey": "item:ack:t:1"}
    assert press_of(event | {"TaskId": "a b/../c", "ResponseCode": "RC1"}, at) is None
    assert press_of(event | {"TaskId": "cunbot_1", "ResponseCode": ""}, at) is None
    press = press_of(event | {"TaskId": "cunbot_1", "ResponseCode": "RC1"}, at)
    assert press is not None and (press.task_id, press.key) == ("cunbot_1", "item:ack:t:1")
