"""导出 in the console: the month's ledgers made in the background with a progress bar, and
downloaded by the person who asked only; the 任务完成情况汇总 sheet carries the task page's
figures; chat's 导出 answers with a sign-in link that lands on the export page."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.ledger_tasks import SUMMARY, SUMMARY_STATES
from services import console_tasks
from services import job_texts as JT
from storage import jobs
from storage.models import Audit, Job
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.bot.web.jobs_kit import export, submit, wait_job
from tests.chat import ChatDriver
from tests.factories import bind, make_world
from tests.webclient import webchat_server

MONTH = "2026-11"


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


def _table(ws) -> tuple[list[tuple], list[tuple]]:
    """(header and data rows, the 合计 row) of a ledger sheet below its title block."""
    rows = [r for r in ws.iter_rows(values_only=True) if any(c is not None for c in r)]
    start = next(i for i, r in enumerate(rows) if r[0] in ("任务编号", "走访时间"))
    return rows[start:-1], [rows[-1]]


async def _audits(sm, action: str) -> list[Audit]:
    async with sm() as s:
        return list(await s.scalars(sa.select(Audit).where(Audit.action == action)))


async def test_export_is_made_in_the_background_and_only_its_owner_downloads_it(
    site, sessionmaker, clock
):
    facts, server = site
    async with Browser(server.base_url) as owner, Browser(server.base_url) as other:
        await owner.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        await other.sign_in(sessionmaker, facts.world.people["county1"], clock.now())
        job, body = await export(owner, MONTH)
        status, page = await owner.get(job)
        assert status == 200 and "已完成" in page and 'id="download"' in page
        assert 'http-equiv="refresh"' not in page  # finished: no more refreshing
        for path in (job, f"{job}/progress", f"{job}/file"):
            got, text = await other.get(path)
            assert got == 404, path
            assert "走访台账" not in text
        status, listing = await owner.get("/console/exports")
        assert status == 200 and job in listing
        _, listing = await other.get("/console/exports")
        assert job not in listing
    wb = load_workbook(io.BytesIO(body))
    assert wb.sheetnames == ["走访台账", "问题清单", "覆盖率", "任务完成情况汇总", "任务完成情况表"]
    visits, _ = _table(wb["走访台账"])
    assert len(visits) - 1 == 5  # the month's five visits at home, none of 邻县
    assert "外户" not in {r[4] for r in visits}
    county0 = facts.world.people["county0"].id
    requested = await _audits(sessionmaker, "export.request")
    downloaded = await _audits(sessionmaker, "export.download")
    assert [a.person_id for a in requested] == [county0]
    assert [a.person_id for a in downloaded] == [county0]
    async with sessionmaker() as s:
        refused = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "refused")
        )
    assert refused == 3  # the other person's three tries


@pytest.mark.parametrize("who", ["county0", "town1"])
async def test_task_summary_sheet_has_the_task_pages_figures(site, sessionmaker, clock, who):
    facts, server = site
    me = facts.world.people[who]
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, me, clock.now())
        _, body = await export(browser, MONTH)
    rows, [total] = _table(load_workbook(io.BytesIO(body))[SUMMARY.name])
    header, data = rows[0], rows[1:]
    assert header == SUMMARY.headers
    [row] = [r for r in data if r[0] == facts.task_id]
    async with sessionmaker() as s:
        view = await console_tasks.task_view(s, me, facts.task_id, page=1, now=clock.now())
    tally = view.tally
    assert row[2] == "核查饮水安全"
    assert row[5] == tally.total
    assert list(row[6:12]) == [tally.counts.get(k, 0) for k in SUMMARY_STATES]
    assert row[12] == pytest.approx(tally.acknowledged)
    assert row[13] == pytest.approx(tally.completed)
    assert row[14] == pytest.approx(tally.counts["overdue"] / tally.total)
    expected_total = {"county0": 4, "town1": 2}[who]  # a township sees its own villages only
    assert tally.total == expected_total and total[0] == "合计"
    assert total[5] == sum(r[5] for r in data)


async def test_progress_written_by_another_process_shows_on_the_page_and_in_json(
    site, sessionmaker, clock
):
    facts, server = site
    me = facts.world.people["town0"]
    async with sessionmaker() as s, s.begin():
        job = await jobs.create(
            s,
            kind="export",
            person_id=me.id,
            region_id=me.region_id,
            params={"month": MONTH},
            now=clock.now(),
        )
        await jobs.start(s, job.id, clock.now())
        await jobs.beat(s, {job.id: (3, 10)}, clock.now())
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, me, clock.now())
        status, page = await browser.get(f"/console/jobs/{job.id}")
        async with browser.http.get(f"{server.base_url}/console/jobs/{job.id}/progress") as r:
            data = await r.json()
        got, _ = await browser.get(f"/console/jobs/{job.id}/file")
    assert status == 200 and "处理中" in page and "30%" in page and "3 / 10" in page
    assert 'http-equiv="refresh"' in page  # the page follows the job without JavaScript
    assert data["status"] == "running" and (data["done"], data["total"]) == (3, 10)
    assert got == 409  # not made yet


async def test_export_requests_are_limited_per_person(site, sessionmaker, clock):
    facts, server = site
    me = facts.world.people["county0"]
    async with sessionmaker() as s, s.begin():
        for _ in range(2):
            await jobs.create(
                s,
                kind="export",
                person_id=me.id,
                region_id=me.region_id,
                params={},
                now=clock.now(),
            )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, me, clock.now())
        resp = await browser.post(
            "/console/exports", {"csrf": await browser.csrf(), "month": MONTH}
        )
        status, page = await browser.get("/console/exports")
    assert resp.status == 409
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Job)) == 2
    assert status == 200


async def test_export_form_needs_its_csrf_token_and_a_valid_month(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        forged = await browser.post("/console/exports", {"csrf": "x", "month": MONTH})
        bad = await browser.post("/console/exports", {"csrf": await browser.csrf(), "month": "13"})
    assert forged.status == 403 and bad.status == 400
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


async def test_chat_export_answers_with_a_sign_in_link_to_the_export_page(
    site, sessionmaker, clock, rules
):
    facts, server = site
    await bind(sessionmaker, facts.world.people["sec0"], "test", "sec0", clock.now())
    chat = ChatDriver(sessionmaker, clock, replace(rules, public_url=server.base_url))
    [reply] = await chat.send("sec0", "导出 2026-10")
    assert reply.link and "/console/login?to=" in reply.link and "石门村" in reply.text
    assert "/reports/" not in reply.link  # no file link anybody could open
    async with Browser(server.base_url) as browser:
        status, where = await browser.open_link(reply.link)
        assert (status, where) == (303, "/console/exports?month=2026-10")
        status, page = await browser.get(where)
        assert status == 200 and 'value="2026-10" selected' in page
        job = await submit(
            browser, "/console/exports", {"csrf": await browser.csrf(), "month": "2026-10"}
        )
        assert (await wait_job(browser, job))["status"] == "done"
    [bad] = await chat.send("sec0", "导出 2026-13")
    assert "月份格式不对" in bad.text


async def test_a_job_left_running_by_a_dead_process_is_failed_when_the_app_starts(
    sessionmaker, clock, database_url, tmp_path
):
    world = await make_world(sessionmaker, clock.now())
    me = world.people["county0"]
    then = clock.now() - timedelta(minutes=10)
    async with sessionmaker() as s, s.begin():
        job = await jobs.create(
            s, kind="export", person_id=me.id, region_id=me.region_id, params={}, now=then
        )
        await jobs.start(s, job.id, then)
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, me, clock.now())
            status, page = await browser.get(f"/console/jobs/{job.id}")
    assert status == 200 and "失败" in page and JT.INTERRUPTED in page
