"""导出 and 导入户籍表 in headless Chromium: the chat's sign-in link lands on 导出, 生成 Excel
goes to the job's page, which refreshes itself (a meta refresh: no JavaScript involved) until
下载 appears, and the download is the workbook; then a roster is uploaded and imported.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from services import console_auth
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

ROSTER = "户编号,户主姓名,所属乡镇,所属村,户类型,家庭人口\nB950,新来户,东岭镇,柳树村,一般户,3\n"


async def test_export_and_import_in_chromium_without_javascript(
    sessionmaker, clock, rules, database_url, tmp_path, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    me = facts.world.people["town0"]
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8-sig")
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        async with sessionmaker() as s, s.begin():
            link = await console_auth.issue_link(
                s,
                me,
                now=clock.now(),
                public_url=server.base_url,
                via="chat",
                to="/console/exports?month=2026-11",
            )
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                context = await browser.new_context(
                    java_script_enabled=False, accept_downloads=True
                )
                page = await context.new_page()
                await page.goto(link.url)
                await page.click("#enter")
                await expect(page.locator("h1")).to_have_text("导出")
                await page.click("#export")
                await expect(page.locator("h1")).to_have_text("导出台账")
                await expect(page.locator("#download")).to_be_visible(timeout=60_000)
                await page.screenshot(path=str(artifacts_dir / "console-export-done.png"))
                async with page.expect_download() as got:
                    await page.click("#download")
                path = await (await got.value).path()
                wb = load_workbook(io.BytesIO(path.read_bytes()))
                assert "任务完成情况汇总" in wb.sheetnames

                await page.goto(f"{server.base_url}/console/households")
                await page.click("#import-households")
                await page.set_input_files("input[name=file]", str(roster))
                await page.click("#import")
                await expect(page.locator("#import-done")).to_contain_text(
                    "导入完成：共 1 户，新增 1", timeout=60_000
                )
                await page.screenshot(path=str(artifacts_dir / "console-import-done.png"))
            finally:
                await browser.close()
