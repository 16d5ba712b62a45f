"""Evidence on the right household: a photo goes to a visit by itself only while exactly one is
open for it; otherwise the sender is asked. 照片 shows a visit's photos and moves or removes
one, each change audited; forged photo ids are refused as unknown."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.media import save_image_sync
from storage.models import Audit, Photo, Visit
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world, photo_bytes


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        v0, v1 = w.villages[0].id, w.villages[1].id
        w.hh = {  # type: ignore[attr-defined]
            "杜浩": (await add_household(s, v0, "HH0001", "杜浩", "监测户", clock.now())).id,
            "高玉梅": (await add_household(s, v0, "HH0002", "高玉梅", "脱贫户", clock.now())).id,
            "赵德明": (await add_household(s, v1, "HH1001", "赵德明", "监测户", clock.now())).id,
        }
    for key in ("sec0", "sec1"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


@pytest.fixture
def chat(sessionmaker, clock, rules):
    return ChatDriver(sessionmaker, clock, rules)


@pytest.fixture
def image(rules):
    def make(rgb):
        return save_image_sync(rules.media_dir, photo_bytes(rgb)).to_dict()

    return make


def texts(replies) -> str:
    return "\n".join(r.text for r in replies)


def buttons(replies) -> dict[str, str]:
    return {b.label: b.payload for r in replies for b in r.buttons}


async def rows(sessionmaker, model, *where):
    async with sessionmaker() as s:
        return list(await s.scalars(sa.select(model).where(*where).order_by(model.id)))


async def _visit(sessionmaker, household_id):
    [visit] = await rows(sessionmaker, Visit, Visit.household_id == household_id)
    return visit


async def test_photo_after_saved_visit_asks_which_household(
    chat, world, sessionmaker, clock, image
):
    await chat.send("sec0", "走访 杜浩 饮水正常 孩子都在上学")
    await chat.press("sec0", "visit:confirm")
    clock.advance(minutes=3)
    asked = await chat.photo("sec0", image((1, 2, 3)))  # 3 minutes after 杜浩 was saved
    assert "哪一户" in texts(asked) and "已附到" not in texts(asked)
    # the household just visited, the one still due, and 不用了
    assert list(buttons(asked)) == ["杜浩", "高玉梅", "不用了"]
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id is None

    attached = await chat.press("sec0", buttons(asked)["杜浩"])
    assert "照片已附到 杜浩" in texts(attached)
    du = await _visit(sessionmaker, world.hh["杜浩"])
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id == du.id
    [entry] = await rows(sessionmaker, Audit, Audit.action == "photo.attach")
    assert entry.object == f"visit:{du.id}" and entry.detail == {"photo": photo.id}

    # 不用了: kept, but the next visit's card does not take it
    clock.advance(minutes=1)
    second = await chat.photo("sec0", image((4, 5, 6)))
    assert "不附到任何走访" in texts(await chat.press("sec0", buttons(second)["不用了"]))
    card = await chat.send("sec0", "走访 高玉梅 饮水正常")
    assert "照片" not in texts(card)
    await chat.press("sec0", "visit:confirm")
    gao = await _visit(sessionmaker, world.hh["高玉梅"])
    assert await rows(sessionmaker, Photo, Photo.visit_id == gao.id) == []
    [dropped] = await rows(sessionmaker, Photo, Photo.visit_id.is_(None))
    assert dropped.discarded_at is not None
    assert len(await rows(sessionmaker, Audit, Audit.action == "photo.discard")) == 1


async def test_photo_with_two_open_visits_is_not_guessed(chat, world, sessionmaker, image):
    await chat.send("sec0", "走访 杜浩 饮水正常")  # a card waiting for 确认
    replace = await chat.send("sec0", "走访 高玉梅 屋顶漏雨")  # a second one, waiting behind it
    assert "先保存吗" in texts(replace)
    asked = await chat.photo("sec0", image((7, 8, 9)))
    assert "两次走访还没确认（杜浩、高玉梅）" in texts(asked)
    assert list(buttons(asked)) == ["杜浩", "高玉梅", "不用了"]
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id is None

    added = await chat.press("sec0", buttons(asked)["杜浩"])
    assert "照片已加到 杜浩 这次的走访（共 1 张）" in texts(added)
    # 保存: 杜浩's card is saved with the photo, then 高玉梅's report goes on without it
    keep = buttons(replace)["保存"]
    after = await chat.press("sec0", keep)
    assert "已保存 杜浩" in texts(after) and "附照片 1 张" in texts(after)
    assert "照片：" not in texts(after).split("已保存 杜浩", 1)[1]
    await chat.press("sec0", "visit:confirm")
    du = await _visit(sessionmaker, world.hh["杜浩"])
    gao = await _visit(sessionmaker, world.hh["高玉梅"])
    by_visit = {p.visit_id for p in await rows(sessionmaker, Photo)}
    assert by_visit == {du.id} and gao.id not in by_visit


async def test_photo_moved_to_another_visit_is_audited(chat, world, sessionmaker, clock, image):
    await chat.send("sec0", "走访 杜浩 饮水正常")
    await chat.photo("sec0", image((10, 20, 30)))  # the card is the one open visit
    await chat.press("sec0", "visit:confirm")
    clock.advance(minutes=30)
    await chat.send("sec0", "走访 高玉梅 饮水正常")
    await chat.press("sec0", "visit:confirm")
    du = await _visit(sessionmaker, world.hh["杜浩"])
    gao = await _visit(sessionmaker, world.hh["高玉梅"])

    latest = await chat.send("sec0", "照片")  # the sender's latest visit
    assert "高玉梅 的走访" in texts(latest) and "有 0 张照片" in texts(latest)
    shown = await chat.send("sec0", "照片 杜浩")
    [photo] = await rows(sessionmaker, Photo)
    assert f"记录号 {du.id}" in shown[0].text and "有 1 张照片" in shown[0].text
    assert shown[1].image == photo.path  # sent as an image
    assert list(buttons(shown[1:])) == ["移到别户", "移除"]

    ask = await chat.press("sec0", buttons(shown[1:])["移到别户"])
    [target] = [p for label, p in buttons(ask).items() if label.startswith("高玉梅")]
    moved = await chat.press("sec0", target)
    assert "从 杜浩 的走访移到 高玉梅 的走访" in texts(moved)
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id == gao.id
    [entry] = await rows(sessionmaker, Audit, Audit.action == "photo.move")
    assert entry.object == f"photo:{photo.id}"
    assert entry.detail["before"] == {"visit": du.id, "household": world.hh["杜浩"]}
    assert entry.detail["after"] == {"visit": gao.id, "household": world.hh["高玉梅"]}
    assert "有 1 张照片" in texts(await chat.send("sec0", "照片 高玉梅"))

    # 移除 asks first; 保留 keeps it, 确认移除 takes it off the visit (audited)
    ask = await chat.press("sec0", f"photo:rm:{photo.id}")
    assert "确定" in texts(ask) and list(buttons(ask)) == ["确认移除", "保留"]
    assert "仍在 高玉梅" in texts(await chat.press("sec0", buttons(ask)["保留"]))
    assert (await rows(sessionmaker, Photo))[0].visit_id == gao.id
    removed = await chat.press("sec0", buttons(ask)["确认移除"])
    assert "已从 高玉梅 的走访中移除" in texts(removed)
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id is None and photo.discarded_at is not None
    [entry] = await rows(sessionmaker, Audit, Audit.action == "photo.remove")
    assert entry.detail["before"]["visit"] == gao.id and entry.detail["after"] == {"visit": None}

    # a visit of another day is no target
    clock.advance(days=1)
    await chat.send("sec0", "走访 高玉梅 收入稳定")
    await chat.press("sec0", "visit:confirm")
    await chat.send("sec0", "走访 杜浩 收入稳定")
    await chat.photo("sec0", image((40, 50, 60)))
    await chat.press("sec0", "visit:confirm")
    [new_photo] = await rows(sessionmaker, Photo, Photo.discarded_at.is_(None))
    ask = await chat.press("sec0", f"photo:move:{new_photo.id}")
    assert [label.split(" ")[0] for label in buttons(ask)] == ["高玉梅"]
    old_visit = f"photo:to:{new_photo.id}:{gao.id}"  # yesterday's: refused like unknown
    assert "失效" in texts(await chat.press("sec0", old_visit))


async def test_forged_photo_id_is_refused(chat, world, sessionmaker, image):
    await chat.send("sec1", "走访 赵德明 饮水正常")  # 柳树村's visit and photo
    await chat.photo("sec1", image((99, 1, 1)))
    await chat.press("sec1", "visit:confirm")
    await chat.send("sec0", "走访 杜浩 饮水正常")
    await chat.press("sec0", "visit:confirm")
    theirs = (await rows(sessionmaker, Photo))[0]
    own_visit = (await _visit(sessionmaker, world.hh["杜浩"])).id
    unknown = 999_999

    def attempts(photo: int) -> list[str]:
        return [
            f"photo:move:{photo}",
            f"photo:to:{photo}:{own_visit}",
            f"photo:rm:{photo}",
            f"photo:rmok:{photo}",
            f"photo:keep:{photo}",
            f"photo:drop:{photo}",
        ]

    before = [(p.id, p.visit_id, p.discarded_at) for p in await rows(sessionmaker, Photo)]
    for forged, missing in zip(attempts(theirs.id), attempts(unknown), strict=True):
        got = texts(await chat.press("sec0", forged))
        assert got == texts(await chat.press("sec0", missing)) and "失效" in got, forged
    assert [(p.id, p.visit_id, p.discarded_at) for p in await rows(sessionmaker, Photo)] == before
    refused = await rows(sessionmaker, Audit, Audit.action == "refused")
    assert len(refused) == 12 and {r.person_id for r in refused} == {world.people["sec0"].id}
    # and by name: another village's household is not one of ours
    assert "不是本村的户" in texts(await chat.send("sec0", "照片 赵德明"))
