"""人员 in headless Chromium (Debian's /usr/bin/chromium) at a phone size: a township officer
makes an invite code from the form and sees it with its QR code on the screen; the QR's address
opened on another phone puts 「绑定 CODE」 in the chat box, and sending it binds. Screenshots go
to test-artifacts/ for a person to look at."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.appkeys import CONFIG
from bot.web.console import qr
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import issue
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.bot.web.test_console_browser import SIZES
from tests.bot.web.test_console_people import chat_ready
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


async def test_invite_and_its_qr_render_at_phone_size_and_the_qr_address_binds(
    sessionmaker, clock, rules, database_url, tmp_path, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    w = facts.world
    async with (
        webchat_server(
            database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
        ) as server,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = await browser.new_context(**SIZES["phone"])
            page = await context.new_page()
            await page.goto(
                await issue(sessionmaker, w.people["town0"], clock.now(), server.base_url)
            )
            await page.click("#enter")
            await page.locator("header nav a", has_text="人员").click()
            await expect(page.locator("h1")).to_contain_text("人员")
            await expect(page.locator("#people-list tbody tr")).to_have_count(3)
            await page.screenshot(
                path=str(artifacts_dir / "console-people-phone.png"), full_page=True
            )
            await page.click("#new-invite")
            await page.fill("input[name=name]", "新书记")
            await page.select_option("select[name=role]", "secretary")
            await page.select_option("select[name=region]", str(w.villages[1].id))
            await page.click("#make-invite")
            await expect(page.locator("#done")).to_contain_text("邀请码已生成")
            code = (await page.locator("#code").inner_text()).strip()
            assert re.fullmatch(r"[A-Z0-9]{8}", code), code
            svg = page.locator("#qr svg")
            await expect(svg).to_be_visible()
            box = await svg.bounding_box()
            assert box is not None and 200 <= box["width"] <= 390, box  # big enough to scan
            width = await page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert width[0] <= width[1], width  # nothing sticks out sideways
            await page.screenshot(
                path=str(artifacts_dir / "console-invite-qr-phone.png"), full_page=True
            )

            await page.locator("#invite a", has_text="查看此人").click()
            await expect(page.locator("h1")).to_contain_text("新书记")
            await expect(page.locator("#channels")).to_contain_text("从未绑定")
            await page.screenshot(
                path=str(artifacts_dir / "console-person-phone.png"), full_page=True
            )
            await page.click("#deactivate")
            await expect(page.locator("h1")).to_contain_text("确认停用")
            await page.locator("a", has_text="不，返回").click()
            await expect(page.locator("#person-state")).to_have_text("在用")

            await chat_ready(server)
            phone = await (await browser.new_context(**SIZES["phone"])).new_page()
            url = qr.bind_url(server.app[CONFIG].public_url, code)
            await phone.goto(url.replace(server.app[CONFIG].public_url, server.base_url))
            await expect(phone.locator("#text")).to_have_value(f"绑定 {code}")
            assert "#bind" not in phone.url  # the code is taken out of the address
            await phone.click("#send")
            await expect(phone.locator("#log")).to_contain_text("绑定成功", timeout=15_000)
            await expect(phone.locator("#log")).to_contain_text("新书记")
        finally:
            await browser.close()
