"""问题清单 in the console: the region's problems by status and village, paged; one problem
with its before (visit) and after (fix) photos through the console's media route; 复核通过 and
复核退回 through the chat's use cases (services.rectify), CSRF checked, scope checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.web.console import texts as T
from core.numbers import Series
from services import media, rectify
from storage import counters
from storage import photos as photo_store
from storage import problems as problem_store
from storage.models import Assignment, Audit, OutboxMessage, Problem, Visit
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_forms_kit import SHANGHAI
from tests.bot.web.console_kit import Browser
from tests.factories import photo_bytes
from tests.fakes.harness import amr_bytes
from tests.webclient import webchat_server


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server, tmp_path / "var" / "media"


async def in_review(sm, facts, clock, media_dir) -> tuple[int, int, str, str]:
    """A problem of 石门村 found on a visit with a photo, fixed by its secretary with another
    photo and waiting for review: (number, problem id, before path, after path)."""
    w, now = facts.world, clock.now()
    sec0 = w.people["sec0"]
    found_at = now - timedelta(days=5)
    before = media.save_image_sync(media_dir, photo_bytes((30, 160, 30)))
    after = media.save_image_sync(media_dir, photo_bytes((30, 30, 160)))
    async with sm() as s, s.begin():
        visit = Visit(
            household_id=facts.households["v0a"],
            village_id=w.villages[0].id,
            visitor_id=sec0.id,
            visited_at=found_at,
            month=f"{found_at.astimezone(SHANGHAI):%Y-%m}",
            day=found_at.astimezone(SHANGHAI).date(),
            checklist={"housing": {"status": "problem", "text": "院墙开裂"}},
            status="active",
            created_at=found_at,
            updated_at=found_at,
        )
        s.add(visit)
        await s.flush()
        before_id, _ = await photo_store.add_photo(
            s, before.to_dict(), uploaded_by=sec0.id, now=found_at, taken_at=None
        )
        await photo_store.move_to_visit(s, before_id, visit.id)
        problem = await problem_store.open_problem(
            s,
            household_id=facts.households["v0a"],
            village_id=w.villages[0].id,
            county_id=w.county.id,
            visit_id=visit.id,
            kind="住房安全",
            title="王大 住房安全",
            description="院墙开裂",
            reporter_id=sec0.id,
            now=found_at,
            deadline=now + timedelta(days=5),
        )
        after_id, _ = await photo_store.add_photo(
            s, after.to_dict(), uploaded_by=sec0.id, now=now, taken_at=None
        )
        await rectify.submit_fix(s, sec0, problem.id, after_id, now=now)
    return problem.number, problem.id, before.path, after.path


async def status_of(sm, problem_id: int) -> str:
    async with sm() as s:
        return str(await s.scalar(sa.select(Problem.status).where(Problem.id == problem_id)))


async def told(sm, problem_id: int, verdict: str) -> list[str]:
    async with sm() as s:
        rows = await s.scalars(
            sa.select(OutboxMessage.status).where(
                OutboxMessage.idempotency_key.like(f"rectify:{problem_id}:{verdict}:%")
            )
        )
        return list(rows)


async def test_problem_list_filters_by_status_and_pages(site, sessionmaker, clock):
    facts, server, media_dir = site
    w, now = facts.world, clock.now()
    number, _pid, _b, _a = await in_review(sessionmaker, facts, clock, media_dir)
    async with sessionmaker() as s, s.begin():
        for i in range(24):  # with populate's one, 25 open problems in 柳树村
            s.add(
                Problem(
                    county_id=w.county.id,
                    number=await counters.next_number(s, w.county.id, Series.PROBLEM),
                    household_id=facts.households["v1b"],
                    village_id=w.villages[1].id,
                    kind="饮水安全",
                    description=f"水管破损{i}",
                    status="open",
                    found_at=now - timedelta(days=2),
                )
            )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        status, page = await browser.get("/console")
        assert 'href="/console/problems?region=' in page and "&status=open" in page
        status, page = await browser.get("/console/problems?status=open")
        assert status == 200
        assert page.count('href="/console/problems/') == 20
        assert "第 1 / 2 页，共 25 条" in page
        assert "屋顶漏雨" in page and ">20</td>" in page  # found 20 days ago, oldest first
        assert f'href="/console/problems/{number}"' not in page  # 待复核 is not 整改中
        status, page = await browser.get("/console/problems?status=open&page=2")
        assert page.count('href="/console/problems/') == 5 and "第 2 / 2 页" in page
        status, page = await browser.get("/console/problems?status=review")
        assert f'href="/console/problems/{number}"' in page and "院墙开裂" in page
        assert "共 1 条" in page and "屋顶漏雨" not in page
        status, page = await browser.get(f"/console/problems?region={w.villages[0].id}")
        assert "院墙开裂" in page and "共 1 条" in page and "水管破损" not in page
        status, page = await browser.get("/console/problems?status=fixed")
        assert status == 400 and "状态只能是" in page
    # The other township's officer sees none of these; another county's region is refused.
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town1"], now)
        status, page = await browser.get("/console/problems")
        assert status == 200 and "共 0 条" in page and "院墙开裂" not in page
        status, page = await browser.get(f"/console/problems?region={w.villages[0].id}")
        assert status == 403 and "院墙开裂" not in page


async def test_problem_page_shows_before_and_after_photos(site, sessionmaker, clock):
    facts, server, media_dir = site
    number, _pid, before, after = await in_review(sessionmaker, facts, clock, media_dir)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        status, page = await browser.get(f"/console/problems/{number}")
        assert status == 200 and "院墙开裂" in page and "待复核" in page and "王大" in page
        head, tail = page.split('id="after"')
        assert f'src="/console/media/{before}"' in head and before not in tail
        assert f'src="/console/media/{after}"' in tail and after not in head
        for rel in (before, after):
            async with browser.http.get(server.url(f"/console/media/{rel}")) as resp:
                assert resp.status == 200 and resp.content_type.startswith("image/")
                assert await resp.read() == (media_dir / rel).read_bytes()
        assert 'id="approve"' in page and 'id="return"' in page
    # The village's secretary sees the page but not the review forms.
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["sec0"], clock.now())
        status, page = await browser.get(f"/console/problems/{number}")
        assert status == 200 and "院墙开裂" in page and 'id="approve"' not in page


async def test_problem_page_plays_its_voice_notes_only_in_scope(site, sessionmaker, clock):
    """A voice note sent with 整改完成: an <audio> on the problem's page, served through the
    console's media route to the region's staff; another township and another county get
    404 for the file, as for no file."""
    facts, server, media_dir = site
    number, pid, _before, _after = await in_review(sessionmaker, facts, clock, media_dir)
    voice = amr_bytes(b"r")
    stored = media.save_voice_sync(media_dir, voice)
    async with sessionmaker() as s, s.begin():
        sec0 = facts.world.people["sec0"].id
        vid, _ = await photo_store.add_photo(
            s, stored.to_dict(), uploaded_by=sec0, now=clock.now(), taken_at=None
        )
        assert await photo_store.attach_voice_to_problem(s, vid, pid)
    url = f"/console/media/{stored.path}"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        status, page = await browser.get(f"/console/problems/{number}")
        async with browser.http.get(server.url(url)) as resp:
            assert resp.status == 200 and await resp.read() == voice
    assert status == 200 and "整改语音（1 段）" in page
    assert f'<audio controls preload="none" src="{url}">' in page
    assert "整改后（1 张" in page  # the voice note is not counted as a photo
    for who in (facts.world.people["town1"], facts.away.people["county"]):
        async with Browser(server.base_url) as other:
            await other.sign_in(sessionmaker, who, clock.now())
            async with other.http.get(server.url(url)) as resp:
                assert resp.status == 404
            assert (await other.get(f"/console/problems/{number}"))[0] == 404


async def test_problem_page_without_voice_notes_has_no_player(site, sessionmaker, clock):
    facts, server, media_dir = site
    number, _pid, _b, _a = await in_review(sessionmaker, facts, clock, media_dir)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        status, page = await browser.get(f"/console/problems/{number}")
    assert status == 200 and "<audio" not in page and 'id="voices"' not in page


async def test_review_from_the_console_closes_the_problem_and_tells_the_village(
    site, sessionmaker, clock
):
    facts, server, media_dir = site
    number, pid, _b, _a = await in_review(sessionmaker, facts, clock, media_dir)
    base = f"/console/problems/{number}"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        resp = await browser.post(base + "/approve", {"csrf": await browser.csrf()})
        assert resp.status == 303 and resp.headers["Location"] == base + "?done=approved"
        status, page = await browser.get(base + "?done=approved")
        assert T.PROBLEM_DONE["approved"] in page and "已整改" in page
        assert 'id="approve"' not in page
        # A second 复核通过 is refused in Chinese, nothing changes.
        resp = await browser.post(base + "/approve", {"csrf": await browser.csrf()})
        assert resp.status == 409 and "已整改" in await resp.text()
    assert await status_of(sessionmaker, pid) == "closed"
    assert await told(sessionmaker, pid, "approved") == ["pending"]  # the village is told
    async with sessionmaker() as s:
        actions = await s.scalars(
            sa.select(Audit.action).where(Audit.object == f"problem:{pid}").order_by(Audit.id)
        )
        assert list(actions)[-1] == "problem.approve"


async def test_return_from_the_console_needs_a_reason(site, sessionmaker, clock):
    facts, server, media_dir = site
    number, pid, _b, _a = await in_review(sessionmaker, facts, clock, media_dir)
    base = f"/console/problems/{number}"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        csrf = await browser.csrf()
        resp = await browser.post(base + "/return", {"csrf": csrf, "reason": "  "})
        page = await resp.text()
        assert resp.status == 400 and T.FIX_REASON_NEEDED in page and 'id="return"' in page
        assert await status_of(sessionmaker, pid) == "review"
        resp = await browser.post(
            base + "/return", {"csrf": csrf, "reason": "x", "deadline": "2020-01-01T10:00"}
        )
        assert resp.status == 400 and T.PAST_DEADLINE in await resp.text()
        assert await status_of(sessionmaker, pid) == "review" and not await told(
            sessionmaker, pid, "returned"
        )
        resp = await browser.post(
            base + "/return",
            {"csrf": csrf, "reason": "照片看不清院墙", "deadline": "2026-12-20T18:00"},
        )
        assert resp.status == 303 and resp.headers["Location"] == base + "?done=returned"
        status, page = await browser.get(base + "?done=returned")
        assert "整改中" in page and "照片看不清院墙" in page
    assert await status_of(sessionmaker, pid) == "open"
    async with sessionmaker() as s:
        item = await s.scalar(
            sa.select(Assignment)
            .join(Problem, Problem.assignment_id == Assignment.id)
            .where(Problem.id == pid)
        )
        assert item.status == "returned" and item.return_reason == "照片看不清院墙"
        assert item.deadline.astimezone(SHANGHAI).strftime("%m-%d %H:%M") == "12-20 18:00"
    assert await told(sessionmaker, pid, "returned") == ["pending"]


async def test_another_townships_problem_is_404_like_unknown(site, sessionmaker, clock):
    facts, server, media_dir = site
    number, pid, before, after = await in_review(sessionmaker, facts, clock, media_dir)
    for who in (facts.world.people["town1"], facts.away.people["county"]):
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, who, clock.now())
            status, unknown = await browser.get("/console/problems/99999")
            assert status == 404
            status, page = await browser.get(f"/console/problems/{number}")
            assert status == 404 and "院墙开裂" not in page and "王大" not in page
            main = page.split("<main>")[1].replace(f"问题 {number}", "问题 N")
            assert main == unknown.split("<main>")[1].replace("问题 99999", "问题 N")
            status, page = await browser.get("/console/problems/12abc")
            assert status == 404
            csrf = await browser.csrf()
            for action in ("approve", "return"):
                resp = await browser.post(
                    f"/console/problems/{number}/{action}", {"csrf": csrf, "reason": "不行"}
                )
                assert resp.status == 404 and "院墙开裂" not in await resp.text()
            for rel in (before, after):
                async with browser.http.get(server.url(f"/console/media/{rel}")) as resp:
                    assert resp.status == 404
    assert await status_of(sessionmaker, pid) == "review"
    assert not await told(sessionmaker, pid, "approved")


async def test_problem_posts_refuse_missing_csrf(site, sessionmaker, clock):
    facts, server, media_dir = site
    number, pid, _b, _a = await in_review(sessionmaker, facts, clock, media_dir)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        for action, data in (
            ("approve", {}),
            ("return", {"reason": "重拍"}),
            ("approve", {"csrf": "forged"}),
        ):
            resp = await browser.post(f"/console/problems/{number}/{action}", data)
            assert resp.status == 403 and T.FORM_EXPIRED in await resp.text()
    assert await status_of(sessionmaker, pid) == "review"
    assert not await told(sessionmaker, pid, "approved")
    async with sessionmaker() as s:
        refused = list(
            await s.scalars(
                sa.select(Audit.detail).where(
                    Audit.action == "refused", Audit.object == f"/console/problems/{number}/approve"
                )
            )
        )
    assert [(d["action"], d["reason"]) for d in refused] == [
        ("console.problem.approve", "csrf")
    ] * 2
