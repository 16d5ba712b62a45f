"""The visit and rectification use cases on the real database: the rules, and the refusals for
ids that came from a client (a hand-made button must not reach another village's data)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.errors import Conflict, Refused
from handlers import texts
from handlers import visit_texts as handler_texts
from services import visits as visit_service
from services import visits_amend, visits_photos
from services.media import save_image_sync
from services.visits import Duplicate, Origin, Recorded, Report
from storage.models import Audit, Photo, Problem, Visit
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world, photo_bytes

ORIGIN = Origin("test", "sec0", "m-1")


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
    for key in ("sec0", "sec1"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


@pytest.fixture
def chat(sessionmaker, clock, rules):
    return ChatDriver(sessionmaker, clock, rules)


async def rows(sessionmaker, model, *where):
    async with sessionmaker() as s:
        return list(await s.scalars(sa.select(model).where(*where).order_by(model.id)))


async def _record(sessionmaker, world, clock, rules, checks, key="王三女") -> Recorded:
    async with sessionmaker() as s, s.begin():
        result = await visit_service.record(
            s,
            world.people["sec0"],
            Report(world.hh[key], checks=checks),
            origin=ORIGIN,
            now=clock.now(),
            rules=rules,
        )
    assert isinstance(result, Recorded)
    return result


async def test_record_then_amend_problems_follow_the_checklist(world, sessionmaker, clock, rules):
    housing = {"status": "problem", "text": "屋顶漏雨"}
    saved = await _record(sessionmaker, world, clock, rules, {"housing": housing})
    [problem] = await rows(sessionmaker, Problem)
    assert saved.problem_numbers == (problem.id,)
    assert (problem.kind, problem.status, problem.description) == ("住房安全", "open", "屋顶漏雨")
    assert (saved.visited, saved.required) == (1, rules.visit_quotas["监测户"])

    clock.advance(minutes=30)
    async with sessionmaker() as s, s.begin():
        amended = await visits_amend.amend(
            s,
            world.people["sec0"],
            saved.visit.id,
            checks={
                "housing": {"status": "ok", "text": "已修好"},
                "water": {"status": "problem", "text": "水管冻裂"},
            },
            note=None,
            now=clock.now(),
            rules=rules,
        )
    assert amended is not None and not amended.merged
    problems = {p.kind: p.status for p in await rows(sessionmaker, Problem)}
    assert problems == {"住房安全": "void", "饮水安全": "open"}
    assert len(amended.problem_numbers) == 1
    [entry] = await rows(sessionmaker, Audit, Audit.action == "visit.amend")
    assert entry.detail["before"]["checklist"]["housing"]["status"] == "problem"
    assert entry.detail["after"]["checklist"]["water"]["status"] == "problem"


async def test_a_report_minutes_later_is_a_duplicate_and_merge_keeps_one_problem_per_check(
    world, sessionmaker, clock, rules
):
    housing = {"status": "problem", "text": "屋顶漏雨"}
    first = await _record(sessionmaker, world, clock, rules, {"housing": housing})
    clock.advance(minutes=5)
    second = Report(world.hh["王三女"], checks={"housing": housing}, note="又看了一次")
    async with sessionmaker() as s, s.begin():
        dup = await visit_service.record(
            s, world.people["sec0"], second, origin=ORIGIN, now=clock.now(), rules=rules
        )
        assert isinstance(dup, Duplicate) and dup.visit.id == first.visit.id
        assert dup.minutes == 5
        merged = await visits_amend.merge(
            s, world.people["sec0"], dup.visit.id, second, now=clock.now(), rules=rules
        )
    assert merged is not None and merged.merged and merged.problem_numbers == ()
    [visit] = await rows(sessionmaker, Visit)
    assert visit.note == "又看了一次"
    [problem] = await rows(sessionmaker, Problem)
    assert problem.status == "open"


async def test_revoke_after_24_hours_is_refused_and_the_visit_stays(
    world, sessionmaker, clock, rules
):
    saved = await _record(sessionmaker, world, clock, rules, {"housing": {"status": "problem"}})
    clock.advance(hours=24, minutes=1)
    async with sessionmaker() as s:
        assert await visits_amend.revocable(s, world.people["sec0"], clock.now()) is None
        with pytest.raises(Conflict) as refused:
            await visits_amend.revoke(s, world.people["sec0"], saved.visit.id, now=clock.now())
        await s.rollback()
    assert refused.value.message == handler_texts.NOTHING_TO_REVOKE
    [visit] = await rows(sessionmaker, Visit)
    [problem] = await rows(sessionmaker, Problem)
    assert visit.status == "active" and problem.status == "open"


async def test_someone_elses_visit_cannot_be_revoked(world, sessionmaker, clock, rules):
    saved = await _record(sessionmaker, world, clock, rules, {})
    async with sessionmaker() as s:
        with pytest.raises(Refused):  # not theirs: a refusal (audited), worded as for none
            await visits_amend.revoke(s, world.people["sec1"], saved.visit.id, now=clock.now())
        await s.rollback()
    assert (await rows(sessionmaker, Visit))[0].status == "active"


async def test_a_foreign_household_is_refused_with_the_words_for_an_unknown_one(
    world, sessionmaker
):
    sec0 = world.people["sec0"]
    async with sessionmaker() as s:
        with pytest.raises(Refused) as foreign:
            await visit_service.household_for(s, sec0, world.hh["赵德明"])
        with pytest.raises(Refused) as unknown:
            await visit_service.household_for(s, sec0, 987654)
    assert foreign.value.message == unknown.value.message
    assert "赵德明" not in foreign.value.message  # nothing about the other village leaks


async def test_forged_household_buttons_get_one_answer_whether_foreign_or_unknown(chat, world):
    await chat.send("sec0", "走访")
    foreign = await chat.press("sec0", f"visit:hh:{world.hh['赵德明']}")
    unknown = await chat.press("sec0", "visit:hh:987654")
    assert [r.text for r in foreign] == [r.text for r in unknown]
    assert "已失效" in foreign[0].text


async def test_another_villages_photo_by_a_forged_button_is_refused_and_nothing_moves(
    chat, world, sessionmaker, rules
):
    stored = save_image_sync(rules.media_dir, photo_bytes((9, 9, 9))).to_dict()
    asked = await chat.photo("sec1", stored)  # 柳树村's photo, loose
    assert "哪一户" in asked[0].text or "请发送" in asked[0].text
    [photo] = await rows(sessionmaker, Photo)
    forged = f"visit:ph:{photo.id}:{world.hh['王三女']}"
    refused = await chat.press("sec0", forged)
    assert "已失效" in refused[0].text
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id is None and photo.assignment_id is None
    assert await rows(sessionmaker, Visit) == []
    # and the same answer for a photo that does not exist
    unknown = await chat.press("sec0", f"visit:ph:987654:{world.hh['王三女']}")
    assert unknown[0].text == refused[0].text


async def test_own_photo_to_another_villages_household_is_refused(
    world, sessionmaker, clock, rules
):
    stored = save_image_sync(rules.media_dir, photo_bytes((7, 7, 7))).to_dict()
    sec0 = world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        got = await visits_photos.add_photo(s, sec0, stored, now=clock.now(), rules=rules)
    assert got is not None
    async with sessionmaker() as s:
        with pytest.raises(Refused):
            await visits_photos.photo_of_household(
                s, sec0, got[0], world.hh["赵德明"], now=clock.now()
            )
        await s.rollback()
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id is None


async def test_own_photo_goes_to_own_visit_of_that_household(world, sessionmaker, clock, rules):
    stored = save_image_sync(rules.media_dir, photo_bytes((5, 6, 7))).to_dict()
    sec0 = world.people["sec0"]
    saved = await _record(sessionmaker, world, clock, rules, {}, key="李桂芳")
    clock.advance(hours=2)  # outside the photo window: the photo is asked about
    async with sessionmaker() as s, s.begin():
        got = await visits_photos.add_photo(s, sec0, stored, now=clock.now(), rules=rules)
        assert got is not None
        placed = await visits_photos.place_photo(s, sec0, *got, now=clock.now(), rules=rules)
        assert isinstance(placed, visits_photos.Which)
        assert world.hh["李桂芳"] in [h.id for h in placed.households]
        attached = await visits_photos.photo_of_household(
            s, sec0, got[0], world.hh["李桂芳"], now=clock.now()
        )
    assert isinstance(attached, visits_photos.Attached)
    [photo] = await rows(sessionmaker, Photo)
    assert photo.visit_id == saved.visit.id


@pytest.mark.parametrize(
    "payload", ["visit:ph:abc:1", "visit:ph:1", "visit:revoke:0", "visit:chk:water", "visit:zzz"]
)
async def test_a_malformed_visit_button_gets_the_stale_answer(chat, world, payload):
    replies = await chat.press("sec0", payload)
    assert [r.text for r in replies] == [texts.STALE_BUTTON]


async def test_another_villages_visit_cannot_be_revoked_by_a_forged_button(
    chat, world, sessionmaker, clock, rules
):
    saved = await _record(sessionmaker, world, clock, rules, {})
    replies = await chat.press("sec1", f"visit:revoke:{saved.visit.id}")
    assert "已失效" in replies[0].text
    assert (await rows(sessionmaker, Visit))[0].status == "active"


async def test_the_rectify_photo_must_be_the_persons_own_or_in_scope(
    world, sessionmaker, clock, rules
):
    from services import rectify

    await _record(sessionmaker, world, clock, rules, {"housing": {"status": "problem"}})
    [problem] = await rows(sessionmaker, Problem)
    stored = save_image_sync(rules.media_dir, photo_bytes((1, 1, 1))).to_dict()
    async with sessionmaker() as s, s.begin():
        got = await visits_photos.add_photo(
            s, world.people["sec1"], stored, now=clock.now(), rules=rules
        )
    assert got is not None
    clock.advance(minutes=1)
    async with sessionmaker() as s:
        with pytest.raises(Refused):
            await rectify.submit_fix(s, world.people["sec0"], problem.id, got[0], now=clock.now())
        await s.rollback()
    [problem] = await rows(sessionmaker, Problem)
    assert problem.status == "open"
