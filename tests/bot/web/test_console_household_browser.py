"""户 edits in headless Chromium (Debian's /usr/bin/chromium) at 1366x768: a township officer
signs in with a login link, finds 赵四, changes the category from 监测户 to 脱贫户 and sees the
change in the household's 变更记录; then retires the household through 确认注销? and restores it.
Screenshots go to test-artifacts/."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import issue
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


async def test_console_household_category_change_shows_in_its_history_in_chromium(
    sessionmaker, clock, rules, database_url, tmp_path, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        link = await issue(sessionmaker, facts.world.people["town0"], clock.now(), server.base_url)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                context = await browser.new_context(viewport={"width": 1366, "height": 768})
                page = await context.new_page()
                await page.goto(link)
                await page.click("#enter")
                await expect(page.locator("h1")).to_contain_text("概览")

                await page.locator("header nav a", has_text="户").click()
                await page.fill("input[name=q]", "赵")
                await page.locator("form.filters button").click()
                await page.locator("#households a", has_text="赵四").click()
                await expect(page.locator("#category")).to_have_text("监测户")
                await expect(page.locator("main")).to_contain_text("还没有在工作台上修改过")

                await page.select_option("#edit-category", "脱贫户")
                await page.fill("#edit-helper", "书记1")
                await page.click("#save")
                await expect(page.locator("#done")).to_contain_text("已保存修改")
                await expect(page.locator("#category")).to_have_text("脱贫户")
                row = page.locator("#history tbody tr").first
                await expect(row).to_contain_text("乡干部0")
                await expect(row).to_contain_text("户类别：监测户 → 脱贫户")
                await expect(row).to_contain_text("帮扶责任人：— → 书记1")
                await expect(page.locator("#household")).to_contain_text("138****5678")
                await page.screenshot(
                    path=str(artifacts_dir / "console-household-edited-desktop.png"),
                    full_page=True,
                )

                await page.click("#retire")
                await expect(page.locator("h1")).to_contain_text("确认注销")
                await page.fill("input[name=reason]", "全家迁往外省")
                await page.click("#confirm-retire")
                await expect(page.locator("#retired")).to_have_text("已注销")
                await expect(page.locator("#history tbody tr").first).to_contain_text(
                    "原因：全家迁往外省"
                )
                await page.screenshot(
                    path=str(artifacts_dir / "console-household-retired-desktop.png"),
                    full_page=True,
                )
                await page.click("#restore")
                await expect(page.locator("#done")).to_contain_text("已恢复")
                await expect(page.locator("#history tbody tr")).to_have_count(3)
                await context.close()
            finally:
                await browser.close()
