"""问答条目 in headless Chromium at a phone size: add an entry through the form, edit it, retire
it through the confirmation page and restore it. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import date

import pytest

from storage import faq as faq_store
from storage.faq import FaqDTO
from tests.bot.web.console_kit import issue
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.bot.web.test_console_browser import SIZES
from tests.factories import make_world
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


async def test_faq_entry_add_edit_retire_restore_in_chromium(
    sessionmaker, clock, database_url, tmp_path, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    world = await make_world(sessionmaker, clock.now())
    shared = FaqDTO(
        "S001", "低保怎么申请", "向乡镇提出申请。", source="省民政厅", reviewed_on=date(2026, 1, 5)
    )
    async with sessionmaker() as s, s.begin():
        await faq_store.seed(s, [shared], clock.now())
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        link = await issue(sessionmaker, world.people["county0"], clock.now(), server.base_url)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                page = await (await browser.new_context(**SIZES["phone"])).new_page()
                await page.goto(link)
                await page.click("#enter")
                await page.goto(server.url("/console/faq/entries"))
                await expect(page.locator("#entry-S001")).to_contain_text("省民政厅")
                await page.click("#add-entry")
                await page.fill("input[name=question]", "村级公益岗位工资多少")
                await page.fill("textarea[name=answer]", "每月800元。")
                await page.fill("input[name=source]", "县人社局通知")
                await page.fill("textarea[name=variants]", "公益岗工资多少\n公益岗一个月多少钱")
                await page.click("#entry-form button[type=submit]")
                await expect(page.locator("#done")).to_contain_text("已添加问答")
                await expect(page.locator("#entry-reviewed")).to_have_text("2026-11-10")
                await expect(page.locator("#entry-variants li")).to_have_count(2)
                await page.click("#edit-entry")
                await page.fill("textarea[name=answer]", "每月1000元。")
                await page.click("#entry-form button[type=submit]")
                await expect(page.locator("#entry-answer")).to_have_text("每月1000元。")
                await page.screenshot(path=str(artifacts_dir / "console-faq-entry-phone.png"))
                await page.click("#retire-entry")
                await expect(page.locator("h1")).to_contain_text("确认停用")
                await page.click("#confirm-retire")
                await expect(page.locator("#done")).to_contain_text("已停用")
                await page.click("#restore-entry")
                await expect(page.locator("#done")).to_contain_text("已恢复")
                width = await page.evaluate(
                    "() => [document.documentElement.scrollWidth, window.innerWidth]"
                )
                assert width[0] <= width[1], width  # nothing sticks out sideways
            finally:
                await browser.close()
