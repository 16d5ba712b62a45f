"""Household visits by chat, end to end through Inbound on the real database."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from core.rules import QuotaPolicy
from services.media import save_image_sync
from storage import households
from storage import visits as store
from storage.models import Assignment, Audit, Photo, Problem, Task, Visit
from storage.readmodels import coverage
from tests.chat import ChatDriver
from tests.conftest import SHANGHAI
from tests.factories import add_household, bind, make_world, photo_bytes


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        v0, v1 = w.villages[0].id, w.villages[1].id
        w.hh = {  # type: ignore[attr-defined]
            "王三女": (await add_household(s, v0, "HH0001", "王三女", "监测户", clock.now())).id,
            "李桂芳": (await add_household(s, v0, "HH0002", "李桂芳", "脱贫户", clock.now())).id,
            "张大山": (await add_household(s, v0, "HH0003", "张大山", "一般户", clock.now())).id,
            "王三": (await add_household(s, v0, "HH0004", "王三", "未脱贫户", clock.now())).id,
            "赵德明": (await add_household(s, v1, "HH1001", "赵德明", "监测户", clock.now())).id,
        }
    for key in ("sec0", "sec1", "county0", "town0"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


@pytest.fixture
def chat(sessionmaker, clock, rules):
    return ChatDriver(sessionmaker, clock, rules)


def payloads(replies) -> list[str]:
    return [b.payload for r in replies for b in r.buttons]


def texts(replies) -> str:
    return "\n".join(r.text for r in replies)


async def rows(sessionmaker, model, *where):
    async with sessionmaker() as s:
        return list(await s.scalars(sa.select(model).where(*where).order_by(model.id)))


async def test_one_message_report_is_confirmed_then_saved_with_a_rectification_item(
    chat, world, sessionmaker, clock
):
    replies = await chat.send("sec0", "走访 王三女 饮水正常 孩子都在上学 医保已交 房子屋顶漏雨")
    assert "住房安全：有问题（房子屋顶漏雨）" in texts(replies)
    assert payloads(replies) == ["visit:confirm", "visit:edit"]
    assert await rows(sessionmaker, Visit) == []  # nothing saved before 确认

    saved = await chat.press("sec0", "visit:confirm")
    assert "已保存 王三女" in texts(saved)
    [visit] = await rows(sessionmaker, Visit)
    assert visit.household_id == world.hh["王三女"]
    assert visit.month == "2026-11"
    assert visit.checklist["water"]["status"] == "ok"
    assert visit.checklist["housing"] == {"status": "problem", "text": "房子屋顶漏雨"}
    [problem] = await rows(sessionmaker, Problem)
    assert (problem.kind, problem.status, problem.visit_id) == ("住房安全", "open", visit.id)
    [task] = await rows(sessionmaker, Task)
    [assignment] = await rows(sessionmaker, Assignment)
    assert task.kind == "rectify" and task.county_id == world.county.id
    assert task.created_by == world.people["sec0"].id
    assert assignment.assignee_id == world.people["sec0"].id
    assert assignment.status == "pending" and assignment.village_id == world.villages[0].id
    # 15 days on, at the end of that working day (18:00 Shanghai), not at the minute of the visit
    assert assignment.deadline == datetime(2026, 11, 25, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert problem.assignment_id == assignment.id
    # One number for the problem and its rectification item: the county's first problem.
    assert problem.number == task.number == 1 and "问题 1" in texts(saved)


async def test_guided_flow_end_to_end_with_photo_and_location(chat, world, sessionmaker, rules):
    start = await chat.send("sec0", "走访")
    assert f"visit:hh:{world.hh['王三女']}" in payloads(start)
    assert f"visit:hh:{world.hh['张大山']}" not in payloads(start)  # 一般户: quota 0
    first = await chat.press("sec0", f"visit:hh:{world.hh['王三女']}")
    assert payloads(first) == [
        "visit:chk:water:ok",
        "visit:chk:water:problem",
        "visit:chk:water:skip",
    ]
    await chat.press("sec0", "visit:chk:water:ok")
    await chat.press("sec0", "visit:chk:education:ok")
    ask = await chat.press("sec0", "visit:chk:medical:problem")
    assert "基本医疗" in texts(ask)
    await chat.send("sec0", "大病保险没交")
    await chat.press("sec0", "visit:chk:housing:skip")
    note = await chat.press("sec0", "visit:chk:income:ok")
    assert payloads(note) == ["visit:skip"]
    await chat.send("sec0", "老人腿脚不便")
    got = await chat.photo(
        "sec0", save_image_sync(rules.media_dir, photo_bytes((200, 10, 10))).to_dict()
    )
    assert "共 1 张" in texts(got)
    await chat.press("sec0", "visit:next")
    summary = await chat.location("sec0", 30.1, 110.2)
    assert "请核对" in texts(summary) and "30.10000" in texts(summary)
    await chat.press("sec0", "visit:confirm")

    [visit] = await rows(sessionmaker, Visit)
    assert visit.checklist == {
        "water": {"status": "ok", "text": "正常"},
        "education": {"status": "ok", "text": "正常"},
        "medical": {"status": "problem", "text": "大病保险没交"},
        "income": {"status": "ok", "text": "正常"},
    }
    assert visit.note == "老人腿脚不便"
    assert (visit.lat, visit.lon, visit.location_flag) == (30.1, 110.2, None)
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id == visit.id
    [problem] = await rows(sessionmaker, Problem)
    assert problem.kind == "基本医疗"


async def test_restart_mid_flow_resumes_at_the_same_step(world, sessionmaker, clock, rules):
    first = ChatDriver(sessionmaker, clock, rules)
    await first.send("sec0", "走访")
    await first.press("sec0", f"visit:hh:{world.hh['王三女']}")
    await first.press("sec0", "visit:chk:water:ok")
    # A new process: fresh registry and Inbound, the state comes from the database.
    second = ChatDriver(sessionmaker, clock, rules)
    replies = await second.send("sec0", "随便说点什么")
    assert "visit:chk:education:ok" in payloads(replies)
    await second.press("sec0", "visit:chk:education:ok")
    assert "第 3/5 项" in texts(await second.send("sec0", "嗯"))


async def test_cancel_leaves_the_flow_without_saving(chat, world, sessionmaker):
    await chat.send("sec0", "走访 王三女 饮水正常")
    assert "已取消" in texts(await chat.send("sec0", "取消"))
    assert await chat.press("sec0", "visit:confirm")  # a stale button answers, saves nothing
    assert await rows(sessionmaker, Visit) == []


async def test_one_wrong_character_finds_the_household(chat, world):
    replies = await chat.send("sec0", "走访 王三汝 饮水正常")
    assert "户主：王三女" in texts(replies)


async def test_unknown_household_offers_nearest_names(chat, world):
    replies = await chat.send("sec0", "走访 王大锤 饮水正常")
    assert "没有找到「王大锤」" in texts(replies)
    assert f"visit:hh:{world.hh['王三女']}" in payloads(replies)
    picked = await chat.press("sec0", f"visit:hh:{world.hh['王三女']}")
    assert "户主：王三女" in texts(picked)  # the checks given in the message are kept


async def test_several_matches_give_numbered_choices(chat, world, sessionmaker, clock):
    async with sessionmaker() as s, s.begin():
        await add_household(s, world.villages[0].id, "HH0009", "李桂芳", "监测户", clock.now())
    replies = await chat.send("sec0", "走访 李桂芳")
    assert "找到 2 户" in texts(replies)
    assert [b.label for b in replies[0].buttons] == ["1. 李桂芳（HH0002）", "2. 李桂芳（HH0009）"]


async def test_household_of_another_village_is_refused(chat, world, sessionmaker):
    replies = await chat.send("sec0", "走访 赵德明 饮水正常")
    assert "不是本村的户" in texts(replies)
    refused = await chat.press("sec0", f"visit:hh:{world.hh['赵德明']}")
    assert "已失效" in texts(refused)  # the refusal left no flow behind
    assert await rows(sessionmaker, Visit) == []


async def test_scope_refusal_on_a_forged_household_button(chat, world, sessionmaker):
    await chat.send("sec0", "走访")
    refused = await chat.press("sec0", f"visit:hh:{world.hh['赵德明']}")
    assert "已失效" in texts(refused)  # a forged button gets the stale-button answer
    assert await rows(sessionmaker, Visit) == []


async def test_duplicate_within_ten_minutes_asks_and_merges(chat, world, sessionmaker, clock):
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    clock.advance(minutes=5)
    await chat.send("sec0", "走访 王三女 住房漏雨")
    ask = await chat.press("sec0", "visit:confirm")
    assert "同一次走访" in texts(ask)
    merged = await chat.press("sec0", "visit:dup:same")
    assert "已合并" in texts(merged)
    [visit] = await rows(sessionmaker, Visit)
    assert set(visit.checklist) == {"water", "housing"}
    assert len(await rows(sessionmaker, Problem)) == 1
    assert await rows(sessionmaker, Audit, Audit.action == "visit.merge")


async def test_duplicate_answered_as_another_visit_records_two(chat, world, sessionmaker, clock):
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    clock.advance(minutes=9)
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    await chat.press("sec0", "visit:dup:new")
    assert len(await rows(sessionmaker, Visit)) == 2


async def test_no_duplicate_question_after_ten_minutes(chat, world, sessionmaker, clock):
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    clock.advance(minutes=11)
    await chat.send("sec0", "走访 王三女 饮水正常")
    assert "已保存" in texts(await chat.press("sec0", "visit:confirm"))


async def test_over_long_note_is_refused_and_the_step_kept(chat, world, sessionmaker):
    await chat.send("sec0", "走访")
    await chat.press("sec0", f"visit:hh:{world.hh['王三女']}")
    for key in ("water", "education", "medical", "housing", "income"):
        await chat.press("sec0", f"visit:chk:{key}:ok")
    refused = await chat.send("sec0", "很" * 501)
    assert "备注太长" in texts(refused)
    ok = await chat.send("sec0", "短备注")
    assert payloads(ok) == ["visit:next"]


async def test_same_photo_twice_is_stored_once(chat, world, sessionmaker, rules):
    stored = save_image_sync(rules.media_dir, photo_bytes((1, 2, 3))).to_dict()
    await chat.photo("sec0", stored)
    again = await chat.photo("sec0", stored)
    assert len(await rows(sessionmaker, Photo)) == 1
    assert again  # answered, nothing stored twice


async def test_photo_before_a_report_goes_on_its_card_and_one_after_is_asked_about(
    chat, world, sessionmaker, clock, rules
):
    early = save_image_sync(rules.media_dir, photo_bytes((10, 0, 0))).to_dict()
    before = save_image_sync(rules.media_dir, photo_bytes((20, 0, 0))).to_dict()
    after = save_image_sync(rules.media_dir, photo_bytes((30, 0, 0))).to_dict()
    await chat.photo("sec0", early)
    clock.advance(minutes=5)
    await chat.photo("sec0", before)
    clock.advance(minutes=6)  # `early` is now 11 minutes old
    card = await chat.send("sec0", "走访 王三女 饮水正常")
    assert "照片：1 张" in texts(card)  # seen on the card before 确认
    saved = await chat.press("sec0", "visit:confirm")
    assert "附照片 1 张" in texts(saved)
    clock.advance(minutes=2)
    asked = await chat.photo("sec0", after)  # the visit is saved: not open any more
    assert "哪一户" in texts(asked) and "照片已附到" not in texts(asked)
    assert "visit:ph:" in payloads(asked)[0] and payloads(asked)[-1].startswith("photo:drop:")
    [visit] = await rows(sessionmaker, Visit)
    by_sha = {p.sha256: p.visit_id for p in await rows(sessionmaker, Photo)}
    assert by_sha == {early["sha256"]: None, before["sha256"]: visit.id, after["sha256"]: None}


async def test_photo_with_no_visit_asks_household_and_starts_a_visit(
    chat, world, sessionmaker, rules
):
    stored = save_image_sync(rules.media_dir, photo_bytes((5, 5, 5))).to_dict()
    asked = await chat.photo("sec0", stored)
    assert "哪一户" in texts(asked)
    [photo] = await rows(sessionmaker, Photo)
    pressed = await chat.press("sec0", f"visit:ph:{photo.id}:{world.hh['李桂芳']}")
    assert "visit:chk:water:ok" in payloads(pressed)
    for key in ("water", "education", "medical", "housing", "income"):
        await chat.press("sec0", f"visit:chk:{key}:ok")
    await chat.press("sec0", "visit:skip")
    await chat.press("sec0", "visit:next")
    await chat.press("sec0", "visit:skip")
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    [photo] = await rows(sessionmaker, Photo)
    assert visit.household_id == world.hh["李桂芳"] and photo.visit_id == visit.id


async def test_location_far_outside_the_county_is_kept_and_flagged(
    chat, world, sessionmaker, clock
):
    async with sessionmaker() as s, s.begin():
        hh = await households.get_household(s, world.hh["王三"])
        for i in range(5):
            await store.record_visit(
                s,
                household=hh,
                visitor_id=world.people["sec0"].id,
                at=clock.now() - timedelta(days=3, minutes=i),
                tz=SHANGHAI,
                checklist={},
                note=None,
                lat=30.0 + i * 0.01,
                lon=110.0,
            )
    await chat.location("sec0", 39.9, 116.4)  # Beijing, shared before the report
    await chat.send("sec0", "走访 王三女 饮水正常")
    saved = await chat.press("sec0", "visit:confirm")
    assert "不在本县范围" in texts(saved)
    visit = (await rows(sessionmaker, Visit, Visit.household_id == world.hh["王三女"]))[0]
    assert (visit.lat, visit.lon, visit.location_flag) == (39.9, 116.4, "outside_county")


async def test_revoke_within_24_hours_is_audited_and_voids_problems(
    chat, world, sessionmaker, clock
):
    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    clock.advance(hours=23)
    ask = await chat.send("sec0", "撤销")
    [visit] = await rows(sessionmaker, Visit)
    assert payloads(ask) == [f"visit:revoke:{visit.id}"]
    assert "已撤销" in texts(await chat.press("sec0", f"visit:revoke:{visit.id}"))
    [visit] = await rows(sessionmaker, Visit)
    assert visit.status == "revoked"  # kept, not deleted
    [problem] = await rows(sessionmaker, Problem)
    [assignment] = await rows(sessionmaker, Assignment)
    assert problem.status == "void" and assignment.status == "cancelled"
    assert await rows(
        sessionmaker, Audit, Audit.action == "visit.revoke", Audit.object == f"visit:{visit.id}"
    )


async def test_revoke_after_24_hours_is_not_possible(chat, world, sessionmaker, clock):
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    clock.advance(hours=25)
    assert "没有可撤销" in texts(await chat.send("sec0", "撤销"))
    [visit] = await rows(sessionmaker, Visit)
    assert "没有可撤销" in texts(await chat.press("sec0", f"visit:revoke:{visit.id}"))
    assert (await rows(sessionmaker, Visit))[0].status == "active"


async def test_amend_is_audited_and_problems_follow_the_checklist(chat, world, sessionmaker):
    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    summary = await chat.send("sec0", "修改 住房安全 孩子辍学")
    assert "义务教育：有问题" in texts(summary)
    assert "已修改" in texts(await chat.press("sec0", "visit:confirm"))
    [visit] = await rows(sessionmaker, Visit)
    assert visit.checklist["housing"]["status"] == "ok"
    problems = {p.kind: p.status for p in await rows(sessionmaker, Problem)}
    assert problems == {"住房安全": "void", "义务教育": "open"}
    [entry] = await rows(sessionmaker, Audit, Audit.action == "visit.amend")
    assert entry.detail["before"]["checklist"]["housing"]["status"] == "problem"
    assert entry.detail["after"]["checklist"]["housing"]["status"] == "ok"


async def test_rectify_with_command_then_photo_waits_for_review_then_closes(
    chat, world, sessionmaker, clock, rules
):
    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    [problem] = await rows(sessionmaker, Problem)
    listed = await chat.send("sec0", "问题")
    assert f"问题 {problem.number} 王三女" in texts(listed)
    clock.advance(days=2)
    ask = await chat.send("sec0", f"整改完成 {problem.number}")
    assert "请发送一张整改后的照片" in texts(ask)
    done = await chat.photo(
        "sec0", save_image_sync(rules.media_dir, photo_bytes((0, 99, 0))).to_dict()
    )
    assert "等待乡镇或县里复核" in texts(done)
    [problem] = await rows(sessionmaker, Problem)
    [assignment] = await rows(sessionmaker, Assignment)
    [photo] = await rows(sessionmaker, Photo)
    assert problem.status == "review" and problem.closed_at is None
    assert assignment.status == "submitted"
    assert photo.assignment_id == assignment.id and photo.visit_id is None
    assert "待复核" in texts(await chat.send("sec0", "问题"))
    assert "已销号" in texts(await chat.send("town0", f"复核通过 {problem.id}"))
    [problem] = await rows(sessionmaker, Problem)
    [assignment] = await rows(sessionmaker, Assignment)
    assert problem.status == "closed" and problem.closed_at == clock.now()
    assert assignment.status == "approved" and assignment.closed_at == clock.now()
    assert "没有待整改" in texts(await chat.send("sec0", "问题"))


async def test_rectify_photo_first_then_command(chat, world, sessionmaker, clock, rules):
    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    [problem] = await rows(sessionmaker, Problem)
    clock.advance(days=1)
    await chat.photo("sec0", save_image_sync(rules.media_dir, photo_bytes((0, 0, 99))).to_dict())
    done = await chat.send("sec0", f"整改完成 {problem.number}")
    assert "等待乡镇或县里复核" in texts(done)
    [assignment] = await rows(sessionmaker, Assignment)
    assert assignment.status == "submitted"


async def test_rectify_of_another_villages_problem_is_refused(chat, world, sessionmaker):
    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    [problem] = await rows(sessionmaker, Problem)
    # Another village's number is answered like one that does not exist.
    assert texts(await chat.send("sec1", f"整改完成 {problem.number}")) == texts(
        await chat.send("sec1", "整改完成 999")
    ).replace("999", str(problem.number))


async def test_quotas_and_coverage_across_a_month_boundary(chat, world, sessionmaker, clock):
    clock.set(datetime(2026, 11, 30, 23, 50, tzinfo=SHANGHAI))
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    await chat.send("sec0", "走访 李桂芳 饮水正常")
    await chat.press("sec0", "visit:confirm")
    clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=SHANGHAI))  # 16:05 UTC on 30 Nov
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    months = sorted(v.month for v in await rows(sessionmaker, Visit))
    assert months == ["2026-11", "2026-11", "2026-12"]

    quotas = QuotaPolicy({"监测户": 3, "未脱贫户": 3, "脱贫户": 1, "一般户": 0})
    async with sessionmaker() as s:
        v0 = world.villages[0].id
        nov = (await coverage.coverage_by_village(s, [v0], "2026-11", quotas))[0]
        dec = (await coverage.coverage_by_village(s, [v0], "2026-12", quotas))[0]
        progress = await coverage.village_progress(s, v0, "2026-12", quotas)
    # Due: 王三女 3, 李桂芳 1, 王三 3 (张大山 is 一般户: 0).
    assert (nov.households_due, nov.households_met, nov.visits_required, nov.visits_done) == (
        3,
        1,
        7,
        2,
    )
    assert (dec.households_due, dec.households_met, dec.visits_done) == (3, 0, 1)
    assert [p.head_name for p in coverage.still_due(progress)] == ["王三", "李桂芳", "王三女"]
    mine = texts(await chat.send("sec0", "本月走访"))
    assert "2026-12" in mine and "达标 0/3 户" in mine and "走访 1/7 次" in mine


async def test_staff_see_coverage_by_township_and_village_due_lists(chat, world):
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    county = texts(await chat.send("county0", "本月走访"))
    assert "示范县 2026-11 走访覆盖" in county and "东岭镇" in county and "西川乡" in county
    town = texts(await chat.send("town0", "本月走访"))
    assert "石门村" in town and "柳树村" in town
    due = texts(await chat.send("town0", "未走访 石门村"))
    assert "王三（HH0004，未脱贫户）已访 0/3" in due
    assert "没有找到" in texts(await chat.send("town0", "未走访 杏花村"))  # other township


async def test_due_list_is_paged(chat, world, sessionmaker, clock):
    async with sessionmaker() as s, s.begin():
        for i in range(20):
            await add_household(
                s, world.villages[0].id, f"HX{i:03d}", f"户主{i}", "监测户", clock.now()
            )
    first = await chat.send("sec0", "未走访")
    assert "第 1/2 页" in texts(first) and payloads(first) == ["due:2"]
    second = await chat.press("sec0", "due:2")
    assert "第 2/2 页" in texts(second) and payloads(second) == []


async def test_village_people_may_export_and_staff_cannot_report_visits(chat, world):
    # 导出 is open to a village's people (their own village: tests/bot/test_ledger_file.py).
    assert "不能使用「导出」" not in texts(await chat.send("sec0", "导出"))
    assert "不能使用「走访」" in texts(await chat.send("county0", "走访 王三女"))


async def test_unreadable_photo_gets_a_clear_answer_and_stores_nothing(chat, world, sessionmaker):
    replies = await chat.photo("sec0", None)
    assert "照片无法读取" in texts(replies)
    assert await rows(sessionmaker, Photo) == []


async def test_guided_amend_changes_checks_and_keeps_the_old_values_in_the_audit(
    chat, world, sessionmaker
):
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    first = await chat.send("sec0", "修改")
    assert "visit:chk:water:ok" in payloads(first)
    await chat.press("sec0", "visit:chk:water:problem")
    await chat.send("sec0", "水管冻裂")
    for key in ("education", "medical", "housing", "income"):
        await chat.press("sec0", f"visit:chk:{key}:skip")
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    assert visit.checklist == {"water": {"status": "problem", "text": "水管冻裂"}}
    [problem] = await rows(sessionmaker, Problem)
    assert problem.kind == "饮水安全" and problem.status == "open"
    [entry] = await rows(sessionmaker, Audit, Audit.action == "visit.amend")
    assert entry.detail["before"]["checklist"]["water"]["status"] == "ok"


async def test_a_new_report_inside_the_flow_starts_over(chat, world, sessionmaker):
    await chat.send("sec0", "走访")
    replies = await chat.send("sec0", "走访 李桂芳 医保已交")
    assert "户主：李桂芳" in texts(replies)
    await chat.press("sec0", "visit:confirm")
    [visit] = await rows(sessionmaker, Visit)
    assert visit.household_id == world.hh["李桂芳"]


async def test_over_long_note_in_one_message_is_refused_and_nothing_saved(
    chat, world, sessionmaker
):
    replies = await chat.send("sec0", "走访 王三女 饮水正常 " + "老人说了很多话" * 80)
    assert "备注太长" in texts(replies)
    assert await rows(sessionmaker, Visit) == []


async def test_staff_page_through_a_villages_due_list_and_see_its_problems(
    chat, world, sessionmaker, clock
):
    async with sessionmaker() as s, s.begin():
        for i in range(20):
            await add_household(
                s, world.villages[0].id, f"HX{i:03d}", f"户主{i}", "监测户", clock.now()
            )
    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    first = await chat.send("town0", "未走访 石门村")
    assert "石门村" in texts(first) and "第 1/2 页" in texts(first)
    second = await chat.press("town0", payloads(first)[0])
    assert "第 2/2 页" in texts(second)
    assert "王三女：住房安全" in texts(await chat.send("county0", "问题"))
    await bind(sessionmaker, world.people["town1"], "test", "town1", clock.now())
    assert "没有待整改" in texts(await chat.send("town1", "问题"))  # 西川乡: none there
