"""The web chat's 🎤 button in headless Chromium (Debian's /usr/bin/chromium) with a fake
microphone: a tap says 按住说话, sliding away cancels, holding records and the release sends the
voice note through the outbox (waiting there without signal); it is stored on the server once
and played from the history."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage import people
from storage.models import Photo
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.bot.web.test_browser_offline import sent_by_me
from tests.factories import make_world
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

FAKE_MIC = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


async def test_hold_to_record_sends_a_voice_note_played_from_the_history(
    engine, sessionmaker, database_url, tmp_path, clock, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    world = await make_world(sessionmaker, clock.now())
    sec = world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        invite = await people.create_invite(
            s, role=sec.role, region_id=sec.region_id, now=clock.now(), person_id=sec.id
        )
    async with webchat_server(database_url, tmp_path, clock) as server, async_playwright() as pw:
        await server.ready()
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS + FAKE_MIC)
        try:
            context = await browser.new_context(viewport={"width": 800, "height": 900})
            page = await context.new_page()
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))
            await page.goto(server.url("/chat"))
            async with page.expect_response("**/chat/session"):
                await page.fill("#text", f"绑定 {invite.code}")
                await page.press("#text", "Enter")
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("绑定成功")
            mic = page.locator("#voice-btn")
            await expect(mic).to_be_visible()
            box = await mic.bounding_box()
            assert box is not None
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

            # A tap is not a recording: the page says how to use the button.
            await mic.click()
            await expect(page.locator(".notice").last).to_have_text("按住说话")

            # Held, then slid far away before letting go: cancelled, nothing sent.
            await page.mouse.move(x, y)
            await page.mouse.down()
            await expect(mic).to_have_class("icon-btn recording")
            await page.wait_for_timeout(800)
            await page.mouse.move(x, y - 300, steps=5)
            await expect(mic).to_have_class("icon-btn recording outside")
            await page.mouse.up()
            await expect(page.locator(".notice").last).to_contain_text("已取消")
            await expect(page.locator(".row.me audio")).to_have_count(0)

            # Without signal, held about 1.5 s and released on the button: it waits in the
            # outbox (待发送) and goes out once the signal is back, answered, no mark left.
            await context.set_offline(True)
            await expect(page.locator("#status")).to_contain_text("无网络")
            await page.mouse.move(x, y)
            await page.mouse.down()
            await expect(page.locator("#status")).to_contain_text("正在录音")
            await page.wait_for_timeout(1500)
            await page.mouse.up()
            await expect(page.locator(".row.me audio")).to_have_count(1)
            await expect(page.locator(".row.me .mark")).to_have_text("待发送")
            await expect(page.locator("#status")).to_contain_text("无网络")
            await context.set_offline(False)
            await expect(page.locator(".row.me .mark")).to_have_count(0, timeout=20_000)
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("语音")
            await page.screenshot(path=str(artifacts_dir / "webchat-voice.png"))

            # Reopened: the history plays it from the server's media route.
            await page.reload()
            player = page.locator(".row.me .bubble.voice audio")
            await expect(player).to_have_count(1)
            src = await player.get_attribute("src")
            assert src is not None and src.startswith("/media/")
            status = await page.evaluate("(u) => fetch(u).then(r => r.status)", src)
            assert status == 200
            assert not [m for m in console if "Content Security Policy" in m], console
        finally:
            await browser.close()

    mine = await sent_by_me(sessionmaker)
    assert [b.get("kind") for b in mine] == ["text", "voice"]
    async with sessionmaker() as s:
        [row] = (await s.scalars(sa.select(Photo))).all()
    assert row.kind == "voice" and row.mime in ("audio/webm", "audio/ogg")
    assert row.uploaded_by == sec.id and "/media/" + row.path == src
