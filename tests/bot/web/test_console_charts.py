"""The console's charts: visits per day of the month on 走访 (one grouped query; revoked
visits and other regions' visits left out; today marked) and a task's progress over time on
its page (the lines end at the village x status view's counts; the deadline marked), both
well-formed SVG, and both drawn with no data at all."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.web.console import chart
from services import console_tasks
from services import tasks as task_service
from storage.models import Assignment, Task, Visit
from storage.readmodels import visit_log
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_forms_kit import SHANGHAI
from tests.bot.web.console_kit import Browser, issue
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.bot.web.test_console_visits import add_visit
from tests.webclient import webchat_server

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


def svg_of(page: str, svg_id: str) -> ET.Element:
    """The page's inline SVG with this id, parsed as XML (fails if it is not well-formed)."""
    m = re.search(rf'<svg [^>]*id="{svg_id}".*?</svg>', page, re.S)
    assert m, f"no svg#{svg_id}"
    text = m.group(0).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1)
    return ET.fromstring(text)


def drawn_days(page: str) -> dict[int, int]:
    root = svg_of(page, "per-day")
    return {int(g.get("data-day")): int(g.get("data-count")) for g in root.iter(f"{SVG}g")}


async def recount(sm, village_ids: set[int], month: str) -> dict[int, int]:
    """Every visit row read back and counted here: active, in the villages, in the month."""
    async with sm() as s:
        rows = (await s.execute(sa.select(Visit.village_id, Visit.status, Visit.day))).all()
    return dict(
        Counter(
            d.day
            for vid, status, d in rows
            if status == "active" and vid in village_ids and f"{d:%Y-%m}" == month
        )
    )


async def test_visits_per_day_equal_a_recount_in_scope(site, sessionmaker, clock, database_url):
    facts, server = site
    w, now = facts.world, clock.now()  # 10 November 2026, 10:00 Shanghai
    for key, back in (("v0a", 0), ("v0b", 0), ("v1a", 4), ("v2a", 0), ("v2a", 6), ("away", 0)):
        await add_visit(sessionmaker, facts, key, now - timedelta(days=back, hours=1))
    withdrawn = await add_visit(sessionmaker, facts, "v1b", now - timedelta(days=7))
    async with sessionmaker() as s, s.begin():
        await s.execute(sa.update(Visit).where(Visit.id == withdrawn).values(status="revoked"))
    county = {v.id for v in w.villages}
    town0 = {w.villages[0].id, w.villages[1].id}
    expected_county = await recount(sessionmaker, county, "2026-11")
    expected_town0 = await recount(sessionmaker, town0, "2026-11")
    assert 3 not in expected_county  # the revoked visit was the 3rd's only one
    assert expected_county[10] == 3 and expected_town0[10] == 2  # 杏花村 is 西川乡's
    for person, expected in (("county0", expected_county), ("town0", expected_town0)):
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, w.people[person], now)
            status, page = await browser.get("/console/visits")
            assert status == 200
            days = drawn_days(page)
            assert sorted(days) == list(range(1, 31))  # every day, the empty ones too
            assert {d: n for d, n in days.items() if n} == expected
            today = svg_of(page, "per-day").findall(f".//{SVG}g[@class='day today']")
            assert [g.get("data-day") for g in today] == ["10"]
            assert "11月10日" in page and "不按人或村排名" in page
            # The list's filters do not change the chart: it counts the region's visits.
            _, filtered = await browser.get("/console/visits?problems=1")
            assert drawn_days(filtered) == days
    if database_url.startswith("sqlite"):  # the grouped count reads the covering index
        async with sessionmaker() as s:
            query = sa.select(Visit.day, sa.func.count()).where(
                *visit_log._month_of(sorted(county), "2026-11")
            )
            compiled = query.group_by(Visit.day).compile(
                s.bind, compile_kwargs={"literal_binds": True}
            )
            plan = (await s.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
        assert "COVERING INDEX ix_visits_village_month" in " ".join(str(r[-1]) for r in plan)


async def test_visits_chart_with_no_visits_and_region_scope(site, sessionmaker, clock):
    facts, server = site
    w, now = facts.world, clock.now()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town1"], now)
        status, page = await browser.get("/console/visits?month=2026-02")
        assert status == 200
        days = drawn_days(page)
        assert sorted(days) == list(range(1, 29)) and set(days.values()) == {0}
        assert svg_of(page, "per-day").findall(f".//{SVG}g[@class='day today']") == []
        # Another township's village: refused, and no chart of it.
        status, page = await browser.get(f"/console/visits?region={w.villages[0].id}")
        assert status == 403 and 'id="per-day"' not in page


def tally_of(page: str) -> dict[str, int]:
    block = page.split('id="tally"', 1)[1].split("</div>\n</div>", 1)[0]
    found = re.findall(r'<span class="n">(\d+)</span><span class="l">([^<]+)</span>', block)
    return {label: int(n) for n, label in found}


def finals_of(page: str) -> dict[str, int]:
    root = svg_of(page, "progress")
    return {p.get("data-stage"): int(p.get("data-final")) for p in root.iter(f"{SVG}polyline")}


async def test_task_progress_ends_at_the_village_view_counts(site, sessionmaker, clock):
    facts, server = site
    w, now = facts.world, clock.now()
    v = w.villages
    async with sessionmaker() as s, s.begin():  # the times the rows record
        times = {
            v[0].id: {"acked_at": now - timedelta(hours=5), "closed_at": now - timedelta(hours=1)},
            v[1].id: {"acked_at": now - timedelta(hours=3)},
            v[3].id: {"submitted_at": now - timedelta(hours=2)},
        }
        for vid, values in times.items():
            await s.execute(
                sa.update(Assignment).where(Assignment.village_id == vid).values(**values)
            )
    for person in ("county0", "town0", "sec0"):
        async with sessionmaker() as s:
            view = await console_tasks.task_view(
                s, w.people[person], facts.task_id, page=1, now=now
            )
        c = view.tally.counts
        expected = {
            "acked": sum(c.get(k, 0) for k in ("acked", "submitted", "approved", "returned")),
            "submitted": c.get("submitted", 0) + c.get("approved", 0),
            "approved": c.get("approved", 0),
        }
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, w.people[person], now)
            status, page = await browser.get(f"/console/tasks/{facts.task_id}")
        assert status == 200
        assert finals_of(page) == expected
        shown = tally_of(page)  # the figures the village x status view prints
        assert expected["acked"] == sum(shown[k] for k in ("收到", "已提交", "已通过", "退回"))
        assert expected["approved"] == shown["已通过"]
        root = svg_of(page, "progress")
        assert root.find(f".//{SVG}line[@class='deadline']") is not None
        assert f"共 {view.tally.total} 个村" in root.get("aria-label")
    # The county sees all four villages: 石门 approved, 柳树 acked, 杏花 pending, 东岭 returned.
    assert expected == {"acked": 1, "submitted": 1, "approved": 1}  # 石门村（approved）
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        _, page = await browser.get(f"/console/tasks/{facts.task_id}")
    assert finals_of(page) == {"acked": 3, "submitted": 1, "approved": 1}


async def test_task_progress_with_nothing_done_and_no_deadline(site, sessionmaker, clock, rules):
    facts, server = site
    w, now = facts.world, clock.now()
    async with sessionmaker() as s, s.begin():
        made = await task_service.create_task(
            s,
            w.people["county0"],
            task_service.TaskDraft(kind="notice", title="刚发的通知"),
            now=now,
            rules=rules,
        )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        status, page = await browser.get(f"/console/tasks/{made.task.number}")
    assert status == 200
    assert finals_of(page) == {"acked": 0, "submitted": 0, "approved": 0}
    assert svg_of(page, "progress").find(f".//{SVG}line[@class='deadline']") is None


def numbers(points: str) -> list[tuple[float, float]]:
    return [tuple(float(x) for x in p.split(",")) for p in points.split()]


def test_charts_are_pure_and_safe_with_nothing():
    at = datetime(2026, 11, 10, 2, 0, tzinfo=SHANGHAI)
    empty = chart.progress_chart({}, 0, at, None, at, SHANGHAI)  # sent this instant, no villages
    assert [s.final for s in empty.series] == [0, 0, 0]
    assert empty.deadline_x is None and empty.now_x is None
    steps = chart.progress_chart(
        {"acked": [(at + timedelta(hours=1), 2), (at + timedelta(hours=2), 1)]},
        4,
        at,
        at + timedelta(hours=10),
        at + timedelta(hours=5),
        SHANGHAI,
    )
    acked = numbers(steps.series[0].points)
    xs, ys = [x for x, _ in acked], [y for _, y in acked]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # never goes back
    assert ys[-1] == round(chart.STEP_TOP + chart.STEP_H / 4, 1)  # 3 of 4 villages
    assert steps.deadline_x == chart.STEP_LEFT + chart.STEP_W  # the axis ends at the deadline
    assert steps.now_x == chart.STEP_LEFT + chart.STEP_W / 2
    days = chart.day_chart("2026-02", {}, date(2026, 3, 1))
    assert len(days.columns) == 28 and days.peak == 0 and days.total == 0
    assert all(c.height == 0 and not c.today for c in days.columns)
    busy = chart.day_chart(
        "2026-12", {date(2026, 12, 31): 4, date(2026, 12, 2): 1}, date(2026, 12, 2)
    )
    assert busy.columns[-1].height == chart.DAY_PLOT and busy.columns[1].today
    assert busy.columns[1].height == chart.DAY_PLOT / 4 and busy.columns[-1].label == "31"


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")
async def test_charts_drawn_in_chromium_at_phone_size(site, sessionmaker, clock, artifacts_dir):
    from playwright.async_api import async_playwright, expect

    facts, server = site
    now = clock.now()
    for back in (0, 0, 1, 5):
        await add_visit(sessionmaker, facts, "v0a", now - timedelta(days=back, hours=1))
    v = facts.world.villages
    async with sessionmaker() as s, s.begin():  # sent two days ago, answered since
        await s.execute(
            sa.update(Task)
            .where(Task.number == facts.task_id, Task.county_id == facts.world.county.id)
            .values(created_at=now - timedelta(days=2))
        )
        for vid, values in {
            v[0].id: {"acked_at": now - timedelta(days=2, hours=-2), "closed_at": now},
            v[1].id: {"acked_at": now - timedelta(days=1)},
            v[3].id: {"acked_at": now - timedelta(hours=30)},
        }.items():
            values["updated_at"] = now - timedelta(hours=3)
            await s.execute(
                sa.update(Assignment).where(Assignment.village_id == vid).values(**values)
            )
    link = await issue(sessionmaker, facts.world.people["county0"], now, server.base_url)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            page = await context.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text))
            await page.goto(link)
            await page.click("#enter")
            await page.goto(server.url("/console/visits"))
            await expect(page.locator("#per-day")).to_be_visible()
            await expect(page.locator("#per-day g.day")).to_have_count(30)
            await expect(page.locator("#per-day g.today rect.bar")).to_have_count(1)
            await page.locator("#per-day-card").screenshot(
                path=str(artifacts_dir / "console-visits-per-day-phone.png")
            )
            await page.goto(server.url(f"/console/tasks/{facts.task_id}"))
            await expect(page.locator("#progress")).to_be_visible()
            await expect(page.locator("#progress polyline")).to_have_count(3)
            await expect(page.locator("#progress-keys")).to_contain_text("已通过 1")
            await page.locator("#progress-card").screenshot(
                path=str(artifacts_dir / "console-task-progress-phone.png")
            )
            width = await page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert width[0] <= width[1], width  # nothing sticks out sideways
            assert not [m for m in errors if "Content Security Policy" in m], errors
        finally:
            await browser.close()
