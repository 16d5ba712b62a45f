"""The console's overview and task pages show the figures of the shared read models: the
same numbers as the evening digest and the xlsx ledger, scoped to the person's region."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.reports import coverage_rows
from core import keys
from services import console
from storage import outbox, visits
from storage.readmodels.county_day import county_day
from storage.readmodels.dead_letters import dead_letter_counts
from tasks.digest import local_day
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server


@pytest.fixture
def quota_rules(rules):
    return replace(rules, visit_quotas=dict(QUOTAS))


@pytest.fixture
async def site(sessionmaker, clock, quota_rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, quota_rules)
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


async def test_overview_figures_equal_the_digest(site, sessionmaker, clock, quota_rules):
    facts, server = site
    county0 = facts.world.people["county0"]
    now = clock.now()
    _, day = local_day(now, quota_rules)
    async with sessionmaker() as s:
        o = await console.overview(
            s, county0, region_id=None, month=day.month, now=now, rules=quota_rules
        )
        digest = await county_day(s, facts.world.county.id, day, quota_rules.quota_policy)
        village_ids = [v.id for v in facts.world.villages]
        ledger, ledger_total = await coverage_rows(
            s, village_ids, day.month, quota_rules.quota_policy
        )
        dead = await dead_letter_counts(
            s, facts.world.county.id, console.month_bounds(day.month, quota_rules.timezone)[0]
        )
    # The digest's figures.
    assert o.overdue == digest.overdue_by_village == [("杏花村", 1)]
    assert o.pending_questions == digest.pending_questions == 1
    assert [c.region_id for c in o.villages[:5]] == [c.region_id for c in digest.lowest][
        : len(o.villages[:5])
    ]
    assert (
        o.dead_total == sum(d.count for d in dead) == sum(d.count for d in digest.dead_letters) == 1
    )
    # The ledger's 覆盖率 sheet: per village and the 合计 row.
    by_name = {row[1]: row[2:] for row in ledger}
    for c in o.villages:
        rate = c.visits_done / c.visits_required if c.visits_required else 1.0
        assert by_name[c.name] == (
            c.households_due,
            c.households_met,
            c.share,
            c.visits_required,
            c.visits_done,
            rate,
        )
    assert (o.total.households_due, o.total.households_met) == ledger_total[2:4] == (6, 3)
    # This month's task: 4 villages; 收到, 已通过 and 退回 acknowledged, 已通过 done.
    [task] = o.tasks
    assert (task.total, task.acknowledged, task.completed) == (4, 0.75, 0.25)
    # And the page prints those figures.
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, county0, now)
        status, page = await browser.get("/console")
    assert status == 200
    assert "50%" in page and "走访达标户 3/6" in page
    assert re.search(r'id="stat-questions"><a href="/console/faq"><span class="n">1<', page)
    assert re.search(r'id="stat-overdue"><a href="[^"]+"><span class="n">1<', page)
    assert re.search(r'id="stat-dead"><span class="n">1<', page)
    row = page.split('id="tasks"', 1)[1].split("</tr>", 2)[1]
    assert re.findall(r'<td class="num">(\d+%?)</td>', row) == ["4", "75%", "25%"]


async def test_overview_draws_the_worst_village_first_and_below_goal_in_red(
    site, sessionmaker, clock
):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        _, page = await browser.get("/console")
    village_svg = page.split("各村走访覆盖（最差在前）", 1)[1].split("</svg>", 1)[0]
    labels = re.findall(r'text-anchor="end"(?: class="bad")?>([^<]+)<', village_svg)
    red_labels = re.findall(r'text-anchor="end" class="bad">([^<]+)<', village_svg)
    assert red_labels == ["柳树村"]
    assert labels[0] == "柳树村"  # 0 of 2 met
    assert labels[-1] == "杏花村"  # 1 of 1 met
    bars = re.findall(r'class="(bar-bad|bar-ok)"', village_svg)
    # 10 November: the goal is a third of the month; 0 % and 67 % against it.
    assert bars[0] == "bar-bad" and bars[-1] == "bar-ok"
    assert "<script" not in page and "http" not in page.split("<body>", 1)[1]


async def test_township_officer_sees_only_their_townships_figures(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town1"], clock.now())
        _, page = await browser.get("/console")
    assert "杏花村" in page and "西川乡" in page
    assert "石门村" not in page and "柳树村" not in page and "外村" not in page
    assert "走访达标户 1/1" in page


async def test_secretary_sees_only_their_village(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["sec0"], clock.now())
        _, page = await browser.get("/console")
        assert "石门村" in page and "柳树村" not in page and "走访达标户 2/3" in page
        _, tasks = await browser.get("/console/tasks")
        _, one = await browser.get(f"/console/tasks/{facts.task_id}")
    assert "核查饮水安全" in tasks
    assert "石门村" in one and "柳树村" not in one and "杏花村" not in one


async def test_overview_of_a_chosen_month_and_a_malformed_month(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        status, page = await browser.get("/console?month=2026-10")
        assert status == 200 and "概览 · 2026-10" in page
        assert "走访达标户 1/6" in page  # only 张三 (a 脱贫户, quota 1) was visited in October
        for bad in ("2026-13", "abc", "2026-1", "9999-01", "%00"):
            status, page = await browser.get(f"/console?month={bad}")
            assert status == 400 and "月份格式不对" in page, bad


async def test_stale_households_are_listed_never_visited_first(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        _, page = await browser.get("/console")
        assert re.search(r'id="stat-stale"><a href="[^"]+"><span class="n">3<', page)
        status, stale = await browser.get("/console/households/stale")
    assert status == 200
    codes = re.findall(r"<tr><td>([A-Z]\d{3})</td>", stale)
    # By village and code: 张三 (last visited 40 days ago), then 钱五 and 周七 (never).
    assert codes == ["A003", "B002", "D001"]
    assert "2026-10-01" in stale and stale.count("从未走访") == 2
    assert "Z001" not in stale and "共 " in stale


async def test_overview_digest_and_ledger_agree_after_a_visit_is_revoked_and_amended(
    site, sessionmaker, clock, quota_rules
):
    """The figures come from the visit summary the visit writes keep: revoking 李二's visit
    (石门村 falls to 1 of 3) and amending one of 王大's changes all three readers alike."""
    facts, _server = site
    county0 = facts.world.people["county0"]
    now = clock.now()
    _, day = local_day(now, quota_rules)
    async with sessionmaker() as s, s.begin():
        li = await visits.last_visit_of(s, facts.households["v0b"])
        wang = await visits.last_visit_of(s, facts.households["v0a"])
        assert li is not None and wang is not None
        await visits.revoke(s, li.id, now)
        await visits.amend(s, wang.id, now, note="补记")
    async with sessionmaker() as s:
        o = await console.overview(
            s, county0, region_id=None, month=day.month, now=now, rules=quota_rules
        )
        digest = await county_day(s, facts.world.county.id, day, quota_rules.quota_policy)
        ledger, ledger_total = await coverage_rows(
            s, [v.id for v in facts.world.villages], day.month, quota_rules.quota_policy
        )
    shimen = next(c for c in o.villages if c.name == "石门村")
    assert (shimen.households_due, shimen.households_met) == (3, 1)
    assert {row[1]: row[2:4] for row in ledger}["石门村"] == (3, 1)
    assert (o.total.households_due, o.total.households_met) == ledger_total[2:4] == (6, 2)
    lowest = {c.region_id: c for c in digest.lowest}
    assert all(lowest[c.region_id] == c for c in o.villages if c.region_id in lowest)
    assert o.stale == 4  # 李二 joins 张三 (October), 钱五 and 周七 (never visited)


async def test_a_county_whose_bulk_is_paused_sees_it_on_the_overview(
    sessionmaker, clock, quota_rules, database_url, tmp_path
):
    facts = await populate(sessionmaker, clock, quota_rules)
    county0 = facts.world.people["county0"]
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue_many(
            s,
            [
                {
                    "recipient_id": county0.id,
                    "body": {"text": "催办"},
                    "idempotency_key": f"flood:{i}",
                    "lane": keys.county_lane(facts.world.county.id),
                }
                for i in range(101)
            ],
            clock.now(),
        )
    async with (
        webchat_server(
            database_url,
            tmp_path,
            clock,
            run_workers=False,
            visit_quotas=QUOTAS,
            county_backlog_pause=100,
        ) as server,
        Browser(server.base_url) as browser,
    ):
        await browser.sign_in(sessionmaker, county0, clock.now())
        _, page = await browser.get("/console")
        assert 'id="bulk-paused"' in page
        # The task's own pushes (populate) wait too.
        assert "积压 105 条，超过上限 100 条，已暂停优先发送" in page
        async with sessionmaker() as s, s.begin():
            assert await outbox.cancel(s, "flood:") == 101
        _, page = await browser.get("/console")
        assert 'id="bulk-paused"' not in page
