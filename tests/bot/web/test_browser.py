"""End to end in headless Chromium (Debian's /usr/bin/chromium) at a phone-sized viewport."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.channels.webchat.channel import HUB
from storage import outbox, people
from tests.factories import make_world
from tests.webclient import webchat_server

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]


async def test_phone_page_binds_sends_and_shows_replies(
    engine, sessionmaker, database_url, tmp_path, clock, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    world = await make_world(sessionmaker, clock.now())
    sec = world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        invite = await people.create_invite(
            s, role=sec.role, region_id=sec.region_id, now=clock.now(), person_id=sec.id
        )
    photo = tmp_path / "field.png"
    Image.new("RGB", (320, 240), (90, 160, 90)).save(photo)
    async with webchat_server(database_url, tmp_path, clock) as server, async_playwright() as pw:
        await server.ready()
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = await browser.new_page(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))
            await page.goto(server.url("/chat"))
            await expect(page.locator("#title")).to_have_text("村务助手")
            await expect(page.locator(".notice")).to_contain_text("绑定 邀请码")

            await page.fill("#text", f"绑定 {invite.code}")
            await page.click("#send")
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("绑定成功")
            await expect(page.locator(".row.me .bubble").first).to_contain_text("绑定")

            await page.fill("#text", "我的信息")
            await page.press("#text", "Enter")
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("辖区")

            await page.set_input_files("#photo", str(photo))
            await expect(page.locator(".row.me img")).to_have_count(1)
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("收到照片")

            # A push from the outbox appears live, with quick-reply buttons that answer.
            async with sessionmaker() as s, s.begin():
                await outbox.enqueue(
                    s,
                    recipient_id=sec.id,
                    body={
                        "text": "【县乡村振兴局】请于11月15日前完成本月走访。",
                        "buttons": [
                            {"label": "收到", "payload": "demo:ack"},
                            {"label": "稍后提醒", "payload": "demo:later"},
                        ],
                    },
                    key="browser:push:1",
                    now=clock.now(),
                )
            server.wake_delivery()
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("完成本月走访")
            await page.locator(".buttons button", has_text="收到").click()
            await expect(page.locator(".row.me .bubble").last).to_have_text("收到")
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("按钮已失效")

            await page.screenshot(path=str(artifacts_dir / "webchat-390x844.png"))

            # Reopening the page shows the history (from the server, not the page's memory).
            await page.reload()
            await expect(page.locator(".row.me .bubble", has_text="我的信息")).to_have_count(1)
            await expect(page.locator(".row.me img")).to_have_count(1)
            # The connection drops: the page reconnects by itself and sends what was typed.
            for socks in list(server.app[HUB].sockets.values()):
                for ws in list(socks):
                    await ws.close()
            await page.fill("#text", "帮助")
            await page.press("#text", "Enter")
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("您可以发送")
            await expect(page.locator(".row.me .bubble", has_text="帮助")).to_have_count(1)

            size = await page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert size[0] <= size[1]  # nothing sticks out sideways on a phone

            # 解绑: asked first, then this browser is nobody's (also after a reload).
            await page.fill("#text", "解绑")
            await page.press("#text", "Enter")
            await page.locator(".buttons button", has_text="确定退出").click()
            await expect(page.locator(".notice").last).to_contain_text("已退出登录")
            await page.reload()
            await expect(page.locator(".notice")).to_contain_text("绑定 邀请码")
            await expect(page.locator(".row.me")).to_have_count(0)
            assert not [m for m in console if "Content Security Policy" in m], console
        finally:
            await browser.close()
    assert Image.open(io.BytesIO((artifacts_dir / "webchat-390x844.png").read_bytes())).size == (
        780,
        1688,
    )
