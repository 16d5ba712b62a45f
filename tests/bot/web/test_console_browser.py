"""The console in headless Chromium (Debian's /usr/bin/chromium) at a phone size and at
1366x768: sign in with a link from `cunbot login-link`, read the overview, open a task's
village view, and (at 1366x768) send a task through the form: scope picker, preview,
确认发送, then review the village's photo submission and approve it. Screenshots go to
test-artifacts/ for a person to look at."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from bot.cli import main
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

SIZES = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
    },
    "desktop": {"viewport": {"width": 1366, "height": 768}},
}


async def test_console_sign_in_overview_and_task_view_in_chromium(
    sessionmaker, clock, rules, database_url, tmp_path, monkeypatch, capsys, artifacts_dir
):
    from playwright.async_api import async_playwright, expect

    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        monkeypatch.setenv("CUNBOT_DATABASE_URL", database_url)
        monkeypatch.setenv("CUNBOT_PUBLIC_URL", server.base_url)

        async def login_link(person_id: int) -> str:
            rc = await asyncio.to_thread(main, ["login-link", "--person", str(person_id), "--json"])
            assert rc == 0
            return json.loads(capsys.readouterr().out)["url"]

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                for size, who, head in (("phone", "town1", "孙六"), ("desktop", "county0", "赵四")):
                    person = facts.world.people[who]
                    context = await browser.new_context(**SIZES[size])
                    page = await context.new_page()
                    errors: list[str] = []
                    page.on("console", lambda msg, errors=errors: errors.append(msg.text))
                    await page.goto(await login_link(person.id))
                    await expect(page.locator("h1")).to_contain_text("登录县乡工作台")
                    await page.click("#enter")
                    await expect(page.locator("h1")).to_contain_text("概览")
                    await expect(page.locator("header .who")).to_contain_text(person.name)
                    await expect(page.locator("#stat-overdue .n")).to_have_text("1")
                    await expect(page.locator("svg.bars").first).to_be_visible()
                    await page.screenshot(
                        path=str(artifacts_dir / f"console-overview-{size}.png"), full_page=True
                    )
                    width = await page.evaluate(
                        "() => [document.documentElement.scrollWidth, window.innerWidth]"
                    )
                    assert width[0] <= width[1], width  # nothing sticks out sideways

                    await page.locator("#tasks a", has_text="核查饮水安全").click()
                    await expect(page.locator("h1")).to_contain_text("核查饮水安全")
                    await expect(page.locator("#villages tbody tr")).to_have_count(
                        2 if who == "town1" else 4
                    )
                    await expect(page.locator("#villages")).to_contain_text(
                        "退回" if who == "town1" else "已通过"
                    )
                    await page.screenshot(
                        path=str(artifacts_dir / f"console-task-{size}.png"), full_page=True
                    )

                    if size == "desktop":
                        await _send_a_task_through_the_form(page, artifacts_dir)
                        await _review_a_photo_submission(
                            page, artifacts_dir, sessionmaker, facts, clock, rules, tmp_path
                        )

                    await page.locator("header nav a", has_text="户").click()
                    await page.fill("input[name=q]", head[0])
                    await page.locator("form.filters button").click()
                    await page.locator("#households a", has_text=head).click()
                    await expect(page.locator("h1")).to_contain_text(head)
                    if head == "赵四":
                        await expect(page.locator("#household")).to_contain_text("138****5678")
                    await page.screenshot(
                        path=str(artifacts_dir / f"console-household-{size}.png"), full_page=True
                    )

                    # 退出 ends the session: the console asks to sign in again.
                    await page.click("header button")
                    await expect(page.locator("h1")).to_contain_text("县乡工作台")
                    await expect(page.locator("main")).to_contain_text("已退出")
                    await page.goto(server.url("/console"))
                    await expect(page.locator("main")).to_contain_text("请先登录")
                    assert not [m for m in errors if "Content Security Policy" in m], errors
                    await context.close()
            finally:
                await browser.close()


async def _send_a_task_through_the_form(page, artifacts_dir) -> None:
    """任务 -> 发任务: fill the form, tick a township and a village, preview, 确认发送."""
    from playwright.async_api import expect

    await page.locator("header nav a", has_text="任务").click()
    await page.click("#new-task")
    await expect(page.locator("h1")).to_contain_text("发任务")
    await page.fill("input[name=title]", "冬季取暖安全排查")
    await page.fill("textarea[name=body]", "请逐户检查煤炉和烟道，拍照上传。")
    await page.fill("input[name=deadline]", "2026-11-13T18:00")
    await page.check("input[name=evidence]")
    await page.locator("#scope label", has_text="西川乡").locator("input").check()
    await page.locator("#scope label", has_text="石门村").locator("input").check()
    await page.screenshot(path=str(artifacts_dir / "console-task-form-desktop.png"), full_page=True)
    await page.click("#preview")
    await expect(page.locator("h1")).to_contain_text("请确认后发送")
    await expect(page.locator("#chosen")).to_contain_text("杏花村、河湾村")
    await expect(page.locator("#preview-card")).to_contain_text("共 3 个村")
    await page.screenshot(
        path=str(artifacts_dir / "console-task-preview-desktop.png"), full_page=True
    )
    await page.click("#confirm")
    await expect(page.locator("h1")).to_contain_text("冬季取暖安全排查")
    await expect(page.locator("#done")).to_contain_text("已发送")
    await expect(page.locator("#villages tbody tr")).to_have_count(3)
    await page.screenshot(path=str(artifacts_dir / "console-task-sent-desktop.png"), full_page=True)


async def _review_a_photo_submission(page, artifacts_dir, sm, facts, clock, rules, tmp_path):
    """石门村's secretary hands the task in with a photo; the reviewer opens the 已提交 row,
    sees the text and the thumbnail side by side, and presses 通过."""
    from playwright.async_api import expect

    from services import media, task_work
    from tests.factories import photo_bytes

    number = int(page.url.split("/console/tasks/")[1].split("?")[0])
    sec0, now = facts.world.people["sec0"], clock.now()
    stored = media.save_image_sync(tmp_path / "var" / "media", photo_bytes((40, 120, 200)))
    async with sm() as s, s.begin():
        item = await task_work.my_item(s, sec0, number)
        photo_id = await task_work.record_photo(s, sec0, stored.to_dict(), now=now, rules=rules)
        await task_work.submit(
            s,
            sec0,
            item.id,
            texts=["煤炉烟道已逐户检查"],
            photo_ids=[photo_id],
            now=now,
            rules=rules,
        )
    await page.reload()
    await page.locator("#villages tr", has_text="石门村").locator("a", has_text="已提交").click()
    await expect(page.locator("#evidence-text")).to_contain_text("煤炉烟道已逐户检查")
    thumb = page.locator("#evidence-photos img")
    await expect(thumb).to_have_count(1)
    # The thumbnail comes through /console/media: wait until the browser has decoded it.
    await page.wait_for_function(
        "() => { const i = document.querySelector('#evidence-photos img');"
        " return i !== null && i.complete && i.naturalWidth > 0; }"
    )
    await page.screenshot(path=str(artifacts_dir / "console-review-desktop.png"), full_page=True)
    await page.click("#approve")
    await expect(page.locator("#done")).to_contain_text("已通过")
