"""导入户籍表 in the console: an upload checked by its bytes, imported in the background
all-or-nothing by the CLI's code, limited to the villages of the person's region; row errors
(row, column, reason) shown on the job's page, and nothing changed."""

from __future__ import annotations

import io
from dataclasses import replace

import aiohttp
import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from storage.models import Audit, Household, Job
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.bot.web.jobs_kit import wait_job
from tests.webclient import webchat_server

HEADER = [
    "户编号",
    "户主姓名",
    "所属乡镇",
    "所属村",
    "户类型",
    "家庭人口",
    "帮扶责任人",
    "联系电话",
]
ROUTE = "/console/households/import"


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in [HEADER, *rows]).encode("utf-8-sig")


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in [HEADER, *rows]:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def _upload(browser: Browser, body: bytes, name: str) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("csrf", await browser.csrf())
    form.add_field("file", body, filename=name, content_type="application/octet-stream")
    return await browser.post(ROUTE, form)


async def _households(sm) -> list[tuple]:
    async with sm() as s:
        rows = await s.execute(
            sa.select(Household.code, Household.head_name, Household.members).order_by(
                Household.code
            )
        )
        return [tuple(r) for r in rows]


async def test_township_officer_imports_a_roster_in_the_background(site, sessionmaker, clock):
    facts, server = site
    me = facts.world.people["town0"]
    body = _xlsx(
        [
            ["A001", "王大", "东岭镇", "石门村", "监测户", 5, "", "13812345678"],  # updated
            ["B900", "新户", "东岭镇", "柳树村", "一般户", 2, "", ""],  # created
        ]
    )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, me, clock.now())
        status, page = await browser.get("/console/households")
        assert status == 200 and 'id="import-households"' in page
        resp = await _upload(browser, body, "户籍表.xlsx")
        assert resp.status == 303
        job = resp.headers["Location"]
        data = await wait_job(browser, job)
        status, page = await browser.get(job)
    assert data["status"] == "done", data
    assert status == 200 and "导入完成：共 2 户，新增 1，更新 1" in page
    found = dict((code, (name, members)) for code, name, members in await _households(sessionmaker))
    assert found["B900"] == ("新户", 2) and found["A001"] == ("王大", 5)
    async with sessionmaker() as s:
        audit = (await s.scalars(sa.select(Audit).where(Audit.action == "households.import"))).one()
        asked = (
            await s.scalars(sa.select(Audit).where(Audit.action == "households.import_request"))
        ).one()
        upload = await s.scalar(sa.select(Job.result_path))
    assert audit.person_id == asked.person_id == me.id
    assert audit.object == "file:户籍表.xlsx" and audit.detail["created"] == 1
    assert upload is None  # the uploaded file is gone once imported


async def test_a_file_with_row_errors_or_another_townships_village_changes_nothing(
    site, sessionmaker, clock
):
    facts, server = site
    before = await _households(sessionmaker)
    body = _csv(
        [
            ["A001", "王大改", "东岭镇", "石门村", "监测户", "4", "", ""],
            ["B901", "某甲", "东岭镇", "柳树村", "一般户", "多", "", ""],  # row 3: 家庭人口
            ["C900", "某乙", "西川乡", "杏花村", "一般户", "3", "", ""],  # row 4: not theirs
        ]
    )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        job = await submit_upload(browser, body, "roster.csv")
        data = await wait_job(browser, job)
        status, page = await browser.get(job)
    assert data["status"] == "failed" and "没有写入任何数据" in data["error"]
    table = page.split('id="row-errors"', 1)[1]
    assert '<td class="num">3</td><td>家庭人口</td><td>家庭人口「多」不是整数</td>' in table
    assert '<td class="num">4</td><td>所属村</td><td>「西川乡/杏花村」不在您的辖区内' in table
    assert await _households(sessionmaker) == before
    async with sessionmaker() as s:
        failed = (
            await s.scalars(sa.select(Audit).where(Audit.action == "households.import_failed"))
        ).one()
    assert failed.detail["errors"] == 2


async def submit_upload(browser: Browser, body: bytes, name: str) -> str:
    resp = await _upload(browser, body, name)
    assert resp.status == 303, resp.status
    return resp.headers["Location"]


async def test_uploads_are_checked_by_their_bytes_and_size(site, sessionmaker, clock):
    facts, server = site
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        as_csv = await _upload(browser, png, "roster.csv")
        _, page = await browser.get(ROUTE)
        big = await _upload(browser, b"a," * (5 * 1024 * 1024 + 10), "big.csv")
        form = aiohttp.FormData()
        form.add_field("csrf", await browser.csrf())
        none = await browser.post(ROUTE, form)
        forged = aiohttp.FormData()
        forged.add_field("csrf", "x")
        forged.add_field("file", _csv([]), filename="r.csv")
        no_token = await browser.post(ROUTE, forged)
    assert as_csv.status == 400 and big.status == 400 and none.status == 400
    assert no_token.status == 403
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    assert "最大 10 MB" in page


async def test_village_people_may_not_import(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["sec0"], clock.now())
        status, page = await browser.get(ROUTE)
        _, households = await browser.get("/console/households")
        resp = await _upload(browser, _csv([]), "r.csv")
    assert status == 403 and resp.status == 403
    assert 'id="import-households"' not in households


async def test_another_persons_import_job_is_404(site, sessionmaker, clock):
    facts, server = site
    body = _csv([["A001", "王大", "东岭镇", "石门村", "监测户", "4", "", ""]])
    async with Browser(server.base_url) as owner, Browser(server.base_url) as other:
        await owner.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        await other.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        job = await submit_upload(owner, body, "r.csv")
        assert (await wait_job(owner, job))["status"] == "done"
        for path in (job, f"{job}/progress", f"{job}/file"):
            assert (await other.get(path))[0] == 404
        assert (await owner.get(f"{job}/file"))[0] == 404  # an import has no file
