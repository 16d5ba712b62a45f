"""The web chat page under weak signal, in headless Chromium (Debian's /usr/bin/chromium): what
is sent offline waits in the page (待发送) and lands once when the signal is back, photos are
shrunk in the page, multi-line text arrives intact, an over-long text is flagged not cut, and
the page opens without signal from its service worker and IndexedDB."""

from __future__ import annotations

import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from PIL import Image

from storage import people
from storage.models import InboxMessage, Photo, WebChatMessage
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.factories import make_world
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

REPORT = "11月10日走访记录\n1. 张三家：低保材料已收齐。\n\n2. 李四家：屋顶漏雨，需要修补。"


def camera_photo(path: Path) -> None:
    """A 3000 x 2000 JPEG with an EXIF DateTimeOriginal, as a phone camera writes it."""
    img = Image.new("RGB", (3000, 2000), (90, 160, 90))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2026:11:10 09:30:00"
    img.save(path, "JPEG", quality=90, exif=exif)


async def sent_by_me(sessionmaker) -> list[dict]:
    async with sessionmaker() as s:
        rows = await s.scalars(
            sa.select(WebChatMessage)
            .where(WebChatMessage.direction == "in")
            .order_by(WebChatMessage.id)
        )
        return [r.body for r in rows]


async def test_offline_messages_wait_in_the_page_and_land_once(
    engine, sessionmaker, database_url, tmp_path, clock, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    world = await make_world(sessionmaker, clock.now())
    sec = world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        invite = await people.create_invite(
            s, role=sec.role, region_id=sec.region_id, now=clock.now(), person_id=sec.id
        )
    photo = tmp_path / "camera.jpg"
    camera_photo(photo)
    small = tmp_path / "small.png"
    Image.new("RGB", (320, 240), (200, 90, 40)).save(small)
    async with webchat_server(database_url, tmp_path, clock) as server, async_playwright() as pw:
        await server.ready()
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = await browser.new_context(viewport={"width": 800, "height": 900})
            page = await context.new_page()
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))
            await page.goto(server.url("/chat"))
            # Refused by the server (not bound yet): marked not sent, with a tap to retry.
            await page.set_input_files("#photo", str(small))
            failed = page.locator(".row.me .mark.failed")
            await expect(failed).to_have_text("未发出，点击重试")
            await expect(page.locator(".notice.error")).to_contain_text("请先绑定身份")
            async with page.expect_response("**/chat/session"):
                await page.fill("#text", f"绑定 {invite.code}")
                await page.press("#text", "Enter")
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("绑定成功")
            await failed.click()
            await expect(page.locator(".row.me .mark")).to_have_count(0)
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("照片")

            # A pasted multi-line report: Shift+Enter adds a line, Enter sends it whole.
            await page.fill("#text", REPORT)
            await page.press("#text", "Shift+Enter")
            await page.keyboard.type("（完）")
            await page.press("#text", "Enter")
            report = REPORT + "\n（完）"
            await expect(page.locator(".row.me .bubble").last).to_have_text(report)
            await expect(page.locator(".row.me .mark")).to_have_count(0)
            assert (await sent_by_me(sessionmaker))[-1]["text"] == report

            # Over the limit: said in Chinese, nothing cut, nothing sent.
            long_text = "长" * 2001
            await page.fill("#text", long_text)
            await expect(page.locator("#count")).to_contain_text("消息太长了")
            await expect(page.locator("#count")).to_contain_text("最多 2000 字")
            await expect(page.locator("#send")).to_be_disabled()
            await page.press("#text", "Enter")
            assert await page.input_value("#text") == long_text
            await page.fill("#text", "")
            await expect(page.locator("#count")).to_be_hidden()

            # The service worker has the page's shell before the signal goes.
            assert await page.evaluate("() => navigator.serviceWorker.ready.then(r => !!r.active)")

            # No signal: a text and a photo wait in the page, marked 待发送.
            await context.set_offline(True)
            await expect(page.locator("#status")).to_contain_text("无网络")
            await page.fill("#text", "离线时写的消息")
            await page.press("#text", "Enter")
            await page.set_input_files("#photo", str(photo))
            await expect(page.locator(".row.me .mark", has_text="待发送")).to_have_count(2)
            await page.screenshot(path=str(artifacts_dir / "webchat-offline.png"))

            # Reopened without signal: the page comes from the service worker, the history
            # and the waiting messages from IndexedDB.
            await page.reload()
            await expect(page.locator(".row.me .bubble", has_text="（完）")).to_have_count(1)
            await expect(page.locator(".row.me .mark", has_text="待发送")).to_have_count(2)

            # The signal is back: both are sent, in order, and stored once.
            await context.set_offline(False)
            await expect(page.locator(".row.me .mark")).to_have_count(0, timeout=30_000)
            await expect(page.locator(".row.bot .bubble").last).to_contain_text("照片")
            await page.reload()
            await expect(page.locator(".row.me .bubble", has_text="离线时写的消息")).to_have_count(
                1
            )
            await expect(page.locator(".row.me img")).to_have_count(2)
            assert not [m for m in console if "Content Security Policy" in m], console
        finally:
            await browser.close()

    mine = await sent_by_me(sessionmaker)
    assert [b.get("kind") for b in mine] == ["text", "photo", "text", "text", "photo"]
    assert [b.get("text") for b in mine].count("离线时写的消息") == 1
    cids = [b["cid"] for b in mine[-2:]]
    async with sessionmaker() as s:
        keys = (await s.scalars(sa.select(InboxMessage.message_id))).all()
        photos = (await s.scalars(sa.select(Photo).order_by(Photo.id))).all()
    assert all(sum(k.endswith(":" + c) for k in keys) == 1 for c in cids)
    assert all(len(c) == 36 for c in cids)  # crypto.randomUUID
    # Shrunk in the page (longest side 2,048 px, JPEG) with the original's EXIF time.
    stored = photos[-1]
    assert (stored.width, stored.height, stored.mime) == (2048, 1365, "image/jpeg")
    local = stored.taken_at.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert local.isoformat() == "2026-11-10T09:30:00"
    served = Image.open(io.BytesIO((tmp_path / "var" / "media" / stored.path).read_bytes()))
    assert max(served.size) == 2048
