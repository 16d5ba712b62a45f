"""The console's "done when" scenario in headless Chromium (Debian's /usr/bin/chromium), as
one story against the real app with its delivery worker running:

At 1366x768 a county staff member signs in with a link from `cunbot login-link`, reads the
overview and finds the worst-covered village, sends a task to two townships with an XLSX
attachment through the form, and 杏花村's secretary (a web chat client) receives the push with
the attachment's link and downloads it; the secretary hands the task in with a photo over the
web chat; the staff member opens the submission, sees the photo and approves it, and the
secretary is told. The secretary asks a question the chat cannot answer; the staff member
answers it from the queue and saves it as an FAQ entry, which the chat then answers with.
At 390x844 (a phone) a township officer signs in and sees only their township: another
township's village page is 403 and a task sent only there is 404, like an unknown one.
Screenshots go to test-artifacts/ (console-done-*.png).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image

from bot.appkeys import INBOUND
from bot.cli import main
from services import tasks as task_service
from storage import people
from tests.bot.web.attachments_kit import xlsx_bytes
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.test_browser import CHROMIUM, FLAGS
from tests.bot.web.test_console_browser import SIZES
from tests.webclient import webchat_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

LINK = re.compile(r"https?://\S+/attachments/\d+\?\S+")
READY_WAIT = 240  # seconds for the FAQ index to be built
TITLE = "冬季低保户入户核查"
QUESTION = "村里的光伏电站收益怎么分配给村民"
ANSWER = "按村集体经济收益分配方案，经村民代表大会通过并公示后发放。"


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 160, 90)).save(buf, "PNG")
    return buf.getvalue()


def _path(url: str) -> str:
    """A link's path and query (links name CUNBOT_PUBLIC_URL; the test server has a port of
    its own)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def _code(sm, clock, person) -> str:
    async with sm() as s, s.begin():
        invite = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=clock.now(), person_id=person.id
        )
    return invite.code


async def test_console_done_when_scenario_in_chromium(
    sessionmaker, clock, rules, database_url, tmp_path, monkeypatch, capsys, artifacts_dir
):
    from playwright.async_api import async_playwright

    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    sheet = tmp_path / "入户核查表.xlsx"
    sheet.write_bytes(xlsx_bytes())
    async with webchat_server(
        database_url, tmp_path, clock, run_scheduler=False, visit_quotas=QUOTAS
    ) as server:
        monkeypatch.setenv("CUNBOT_DATABASE_URL", database_url)
        monkeypatch.setenv("CUNBOT_PUBLIC_URL", server.base_url)

        async def login_link(person_id: int) -> str:
            rc = await asyncio.to_thread(main, ["login-link", "--person", str(person_id), "--json"])
            assert rc == 0
            return json.loads(capsys.readouterr().out)["url"]

        # The chat answers once the FAQ index is built (in the background, CPU-bound): on a
        # busy machine that takes a while, so wait for it here rather than in each step.
        await asyncio.wait_for(server.app[INBOUND].ready.wait(), READY_WAIT)
        async with server.client() as sec, async_playwright() as pw:
            bound = await sec.bind(await _code(sessionmaker, clock, facts.world.people["sec2"]))
            assert "绑定成功" in bound[0]["text"]
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            try:
                context = await browser.new_context(**SIZES["desktop"])
                page = await context.new_page()
                errors: list[str] = []
                page.on("console", lambda msg: errors.append(msg.text))
                story = Story(page, sec, server, artifacts_dir, facts)
                await story.sign_in(await login_link(facts.world.people["county0"].id))
                await story.worst_covered_village()
                number = await story.send_task_with_attachment(sheet)
                await story.secretary_gets_the_push(sheet.read_bytes())
                await story.secretary_submits_with_photo(number)
                await story.review_and_approve()
                await story.answer_and_save_as_faq()
                assert not [m for m in errors if "Content Security Policy" in m], errors
                await context.close()

                await _township_officer_on_a_phone(
                    browser, facts, sessionmaker, clock, rules, artifacts_dir, login_link, server
                )
            finally:
                await browser.close()


class Story:
    """The county staff member's steps in Chromium, with the secretary's web chat beside."""

    def __init__(self, page, sec, server, artifacts_dir, facts) -> None:
        self.page, self.sec, self.server = page, sec, server
        self.artifacts, self.facts = artifacts_dir, facts

    async def shot(self, name: str) -> None:
        await self.page.screenshot(
            path=str(self.artifacts / f"console-done-{name}.png"), full_page=True
        )

    async def sign_in(self, link: str) -> None:
        from playwright.async_api import expect

        await self.page.goto(link)
        await expect(self.page.locator("h1")).to_contain_text("登录县乡工作台")
        await self.page.click("#enter")
        await expect(self.page.locator("h1")).to_contain_text("概览")

    async def worst_covered_village(self) -> None:
        """各村走访覆盖 lists the worst first: 柳树村 has met none of its 2 due households."""
        from playwright.async_api import expect

        first = self.page.locator("#coverage tbody tr").first
        await expect(first).to_contain_text("柳树村")
        await expect(first.locator("td.bad")).to_have_text("0%")
        await self.shot("overview-desktop")
        await first.locator("a", has_text="柳树村").click()
        await expect(self.page.locator("#coverage tbody tr")).to_have_count(1)
        await expect(self.page.locator("#coverage")).to_contain_text("柳树村")

    async def send_task_with_attachment(self, sheet) -> int:
        from playwright.async_api import expect

        page = self.page
        await page.locator("header nav a", has_text="任务").click()
        await page.click("#new-task")
        await page.fill("input[name=title]", TITLE)
        await page.fill("textarea[name=body]", "请下载核查表，逐户核查后拍照上传。")
        await page.fill("input[name=deadline]", "2026-11-13T18:00")
        await page.check("input[name=evidence]")
        for town in ("东岭镇", "西川乡"):
            await page.locator("#scope label.town-name", has_text=town).locator("input").check()
        await page.set_input_files("input[name=files]", str(sheet))
        await self.shot("task-form-desktop")
        await page.click("#preview")
        await expect(page.locator("h1")).to_contain_text("请确认后发送")
        await expect(page.locator("#preview-card")).to_contain_text("共 4 个村")
        await expect(page.locator("#preview-files")).to_contain_text("入户核查表.xlsx")
        await self.shot("task-preview-desktop")
        await page.click("#confirm")
        await expect(page.locator("h1")).to_contain_text(TITLE)
        await expect(page.locator("#done")).to_contain_text("已发送")
        await expect(page.locator("#attachments")).to_contain_text("入户核查表.xlsx")
        await expect(page.locator("#villages tbody tr")).to_have_count(4)
        await self.shot("task-sent-desktop")
        return int(page.url.split("/console/tasks/")[1].split("?")[0])

    async def secretary_gets_the_push(self, sheet: bytes) -> None:
        self.server.wake_delivery()
        push = await self.sec.next_push(timeout=15)
        assert TITLE in push["text"] and "入户核查表.xlsx" in push["text"]
        [link] = LINK.findall(push["text"])
        status, body = await self.sec.get(_path(link))
        assert status == 200 and body == sheet

    async def secretary_submits_with_photo(self, number: int) -> None:
        assert "完成情况" in await self.sec.say(f"提交 {number}")
        status, body = await self.sec.upload(_png(), "check.png", "image/png")
        assert status == 200 and "1 张照片" in body["frames"][0]["text"]
        assert "等待审核" in await self.sec.say("好了")

    async def review_and_approve(self) -> None:
        from playwright.async_api import expect

        page = self.page
        await page.reload()
        row = page.locator("#villages tr", has_text="杏花村")
        await row.locator("a", has_text="已提交").click()
        await expect(page.locator("#evidence-photos img")).to_have_count(1)
        await page.wait_for_function(
            "() => { const i = document.querySelector('#evidence-photos img');"
            " return i !== null && i.complete && i.naturalWidth > 0; }"
        )
        await self.shot("review-desktop")
        await page.click("#approve")
        await expect(page.locator("#done")).to_contain_text("已通过")
        self.server.wake_delivery()
        told = await self.sec.next_push(timeout=15)
        assert "审核通过" in told["text"] and TITLE in told["text"]

    async def answer_and_save_as_faq(self) -> None:
        from playwright.async_api import expect

        handed = await self.sec.say(QUESTION)
        assert "已转给县里" in handed
        number = int(handed.split("提问 ")[1].split("）")[0])
        page = self.page
        await page.locator("header nav a", has_text="问答").click()
        question = page.locator(f"#question-{number}")
        await expect(question).to_contain_text(QUESTION)
        await question.locator("textarea[name=answer]").fill(ANSWER)
        await self.shot("faq-desktop")
        await question.locator("button", has_text="答复").click()
        await expect(page.locator("#done")).to_contain_text(f"已答复提问 {number}")
        self.server.wake_delivery()
        answered = await self.sec.next_push(timeout=15)
        assert ANSWER in answered["text"]
        await page.locator(f"#save-{number} button").click()
        await expect(page.locator("#done")).to_contain_text("存为问答")
        await self.shot("faq-saved-desktop")
        reply = await self.sec.send(QUESTION)
        assert ANSWER in reply[0]["text"] and "县级工作人员答复" in reply[0]["text"]


async def _township_officer_on_a_phone(
    browser, facts, sm, clock, rules, artifacts_dir, login_link, server
) -> None:
    """东岭镇's officer at 390x844: their township's villages only; 西川乡's village page is
    403 and a task sent only to 西川乡 is 404."""
    from playwright.async_api import expect

    w = facts.world
    async with sm() as s, s.begin():
        made = await task_service.create_task(
            s,
            w.people["county0"],
            task_service.TaskDraft(
                kind="task",
                title="西川乡防汛检查",
                deadline=clock.now() + timedelta(days=2),
                scope={"townships": [w.townships[1].id]},
            ),
            now=clock.now(),
            rules=rules,
        )
    context = await browser.new_context(**SIZES["phone"])
    page = await context.new_page()
    await page.goto(await login_link(w.people["town0"].id))
    await page.click("#enter")
    await expect(page.locator("h1")).to_contain_text("概览")
    coverage = page.locator("#coverage")
    await expect(coverage).to_contain_text("石门村")
    await expect(coverage).to_contain_text("柳树村")
    await expect(coverage).not_to_contain_text("杏花村")
    width = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width  # nothing sticks out sideways on a phone
    await page.screenshot(path=str(artifacts_dir / "console-done-town-overview-phone.png"))
    await page.locator("header nav a", has_text="任务").click()
    await expect(page.locator("main")).to_contain_text(TITLE)
    await expect(page.locator("main")).not_to_contain_text("西川乡防汛检查")
    await page.locator("main a", has_text=TITLE).click()
    await expect(page.locator("#villages tbody tr")).to_have_count(2)
    await expect(page.locator("#attachments")).to_contain_text("入户核查表.xlsx")
    await page.screenshot(path=str(artifacts_dir / "console-done-town-task-phone.png"))

    village = await page.goto(server.url(f"/console?region={w.villages[2].id}"))
    assert village is not None and village.status == 403
    await expect(page.locator("main")).not_to_contain_text("杏花村")
    await page.screenshot(path=str(artifacts_dir / "console-done-town-403-phone.png"))
    task = await page.goto(server.url(f"/console/tasks/{made.task.number}"))
    assert task is not None and task.status == 404
    await expect(page.locator("main")).not_to_contain_text("西川乡防汛检查")
    await context.close()
