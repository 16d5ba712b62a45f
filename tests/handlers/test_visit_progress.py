"""本月走访 / 未走访 in chat: the page buttons are typed, and any village id that is not the
person's to see (foreign, unknown, not a village, malformed) gets the same refusal."""

from __future__ import annotations

import pytest

from core.payloads import DuePage, DueVillagePage
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        for i in range(20):
            await add_household(
                s, w.villages[0].id, f"HX{i:03d}", f"户主{i}", "监测户", clock.now()
            )
        await add_household(s, w.villages[1].id, "HY001", "赵德明", "监测户", clock.now())
    for key in ("sec0", "town0"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


@pytest.fixture
def chat(sessionmaker, clock, rules):
    return ChatDriver(sessionmaker, clock, rules)


def text(replies) -> str:
    return "\n".join(r.text for r in replies)


async def test_page_buttons_are_the_typed_payloads(chat, world):
    mine = await chat.send("sec0", "未走访")
    assert [b.payload for r in mine for b in r.buttons] == [DuePage(2).pack()]
    theirs = await chat.send("town0", "未走访 石门村")
    village = world.villages[0].id
    assert [b.payload for r in theirs for b in r.buttons] == [DueVillagePage(village, 2).pack()]
    assert "第 2/2 页" in text(await chat.press("town0", DueVillagePage(village, 2).pack()))


async def test_foreign_unknown_and_malformed_village_buttons_get_one_refusal(chat, world):
    answers = [
        text(await chat.press("town0", payload))
        for payload in (
            DueVillagePage(world.villages[2].id, 1).pack(),  # 西川乡's village
            DueVillagePage(999_999, 1).pack(),  # no such region
            DueVillagePage(world.townships[0].id, 1).pack(),  # a township, not a village
            "duev:abc:1",  # malformed
        )
    ]
    assert len(set(answers)) == 1 and "已失效" in answers[0]


async def test_a_secretary_asking_for_another_village_sees_their_own(chat, world):
    got = text(await chat.send("sec0", "未走访 柳树村"))
    assert "户主0" in got and "赵德明" not in got
    # said, not silent: the name typed is not theirs, and the list is their own village's
    own = world.villages[0].name
    assert "「柳树村」不是本村" in got and f"本村（{own}）" in got
    # an unknown name gets the very same words (no oracle), their own name none of them
    unknown = text(await chat.send("sec0", "未走访 无此村"))
    assert unknown.replace("无此村", "柳树村") == got
    assert "不是本村" not in text(await chat.send("sec0", f"未走访 {own}"))
    refused = text(await chat.press("sec0", DueVillagePage(world.villages[1].id, 1).pack()))
    assert "已失效" in refused and "赵德明" not in refused
