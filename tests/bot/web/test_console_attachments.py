"""Task attachments (附件) through the console's task form against the real app: multipart
uploads checked by their bytes, kept through the preview, stored once per SHA-256 on 确认发送,
listed on the task page and in the push with a signed link; downloads only for the task's
villages (their secretaries, their township and county staff) and its sender."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import sqlalchemy as sa

from bot.appkeys import MEDIA, RULES
from bot.config import CoreSettings
from services import attachment_links, attachments
from storage import people
from storage.models import Audit, OutboxMessage, Task, TaskFile
from tests.bot.web.attachments_kit import (
    docx_bytes,
    multipart,
    pdf_bytes,
    task_with_file,
    xlsx_bytes,
    zip_bytes,
)
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_forms_kit import tasks_titled
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server

HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')
LINK = re.compile(r"(http://\S+/attachments/(\d+)\?\S+)")
DEADLINE = "2026-11-13T18:00"
LIMIT = 64 * 1024  # the server of these tests takes files up to 64 KB


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path, media_backend):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url,
        tmp_path,
        clock,
        run_workers=False,
        visit_quotas=QUOTAS,
        attachment_max_bytes=LIMIT,
        **media_backend.core,
    ) as server:
        yield facts, server, tmp_path / "var"


def _fields(csrf: str, town: int, step: str = "preview") -> list[tuple[str, str]]:
    return [
        ("csrf", csrf),
        ("kind", "task"),
        ("title", "填报低保台账"),
        ("body", "请下载模板，填好后上报。"),
        ("deadline", DEADLINE),
        ("town", str(town)),
        ("step", step),
    ]


async def _post(browser: Browser, form: aiohttp.FormData | list) -> tuple[int, str, str]:
    async with browser.http.post(
        browser.base_url + "/console/tasks/new", data=form, allow_redirects=False
    ) as resp:
        return resp.status, await resp.text(), resp.headers.get("Location", "")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _staged(var: Path) -> list[Path]:
    root = var / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def _code(sm, clock, person) -> str:
    async with sm() as s, s.begin():
        invite = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=clock.now(), person_id=person.id
        )
    return invite.code


def test_the_default_attachment_limit_is_20_mb():
    assert attachments.MAX_FILE_BYTES == 20 * 1024 * 1024
    assert CoreSettings().attachment_max_bytes == attachments.MAX_FILE_BYTES


@pytest.mark.parametrize("media_backend", ["local", "s3", "s3-presign"], indirect=True)
async def test_console_form_sends_a_pdf_and_an_xlsx_with_the_task(
    site, sessionmaker, clock, media_backend
):
    facts, server, var = site
    w = facts.world
    pdf, xlsx = pdf_bytes(), xlsx_bytes()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        form = multipart(
            _fields(await browser.csrf(), w.townships[1].id),
            [("低保模板.pdf", pdf), ("C:\\Users\\县里\\入户登记表.xlsx", xlsx)],
        )
        status, preview, _ = await _post(browser, form)
        assert status == 200, preview
        assert "附件 2 个" in preview and "低保模板.pdf" in preview and "入户登记表.xlsx" in preview
        assert "Users" not in preview  # only the file's own name is kept
        assert await tasks_titled(sessionmaker, "填报低保台账") == []
        assert len(_staged(var)) == 3  # two files and the batch's manifest, until 确认

        carried = [*HIDDEN.findall(preview), ("step", "confirm")]
        status, _, where = await _post(browser, carried)
        assert status == 303, where
        [task] = await tasks_titled(sessionmaker, "填报低保台账")
        assert _staged(var) == []  # the batch is gone once the task is sent
        async with sessionmaker() as s:
            rows = list(await s.scalars(sa.select(TaskFile).order_by(TaskFile.id)))
            audits = list(await s.scalars(sa.select(Audit).where(Audit.action == "task.attach")))
            pushes = {
                row.recipient_id: row.body["text"]
                for row in await s.scalars(
                    sa.select(OutboxMessage).where(OutboxMessage.idempotency_key.like("task:%"))
                )
            }
        assert [(r.name, r.mime, r.size, r.task_id) for r in rows] == [
            ("低保模板.pdf", "application/pdf", len(pdf), task.id),
            (
                "入户登记表.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                len(xlsx),
                task.id,
            ),
        ]
        assert rows[0].sha256 == hashlib.sha256(pdf).hexdigest()
        assert await server.app[MEDIA].read(rows[0].path) == pdf  # in the media store
        assert await media_backend.keys(var / "media") == sorted(r.path for r in rows)
        if media_backend.name != "local":
            assert await media_backend.content_type(rows[0].path) == "application/pdf"
        assert {a.detail["name"] for a in audits} == {"低保模板.pdf", "入户登记表.xlsx"}
        assert all(a.person_id == w.people["county0"].id for a in audits)

        # The task page lists them, and the console session downloads them.
        status, page = await browser.get(where)
        assert status == 200 and f'href="/console/attachments/{rows[1].id}"' in page
        async with browser.http.get(server.url(f"/console/attachments/{rows[1].id}")) as resp:
            assert resp.status == 200 and await resp.read() == xlsx
            assert "attachment" in resp.headers["Content-Disposition"]

    # 杏花村's secretary (西川乡) gets both names, each with a link signed for them.
    sec2 = w.people["sec2"]
    text = pushes[sec2.id]
    assert "低保模板.pdf（" in text and "入户登记表.xlsx（" in text
    # The links name CUNBOT_PUBLIC_URL; this server listens on a port of its own.
    links = {int(fid): server.url(_path(url)) for url, fid in LINK.findall(text)}
    assert set(links) == {rows[0].id, rows[1].id}
    assert all(f"u={sec2.id}&" in url for url in links.values())
    async with aiohttp.ClientSession() as anyone:  # no cookie: the link is the credential
        async with anyone.get(links[rows[0].id]) as resp:
            assert resp.status == 200 and await resp.read() == pdf
            assert resp.headers["Content-Type"] == "application/pdf"
        # The same link with another person in it no longer matches its signature.
        forged = links[rows[0].id].replace(f"u={sec2.id}&", f"u={w.people['sec0'].id}&")
        async with anyone.get(forged) as resp:
            assert resp.status == 403
        async with anyone.get(server.url(f"/attachments/{rows[0].id}")) as resp:
            assert resp.status == 403  # no link, no session


@pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
async def test_secretaries_download_only_the_files_of_tasks_sent_to_their_village(
    site, sessionmaker, clock, rules, media_backend
):
    facts, server, var = site
    w = facts.world
    scope = {"townships": [w.townships[1].id]}
    store = server.app[MEDIA]
    pdf = pdf_bytes((10, 20, 30))
    _number, file_id = await task_with_file(
        sessionmaker, facts, clock, rules, var, scope, store, pdf
    )
    # The same file attached to a second task is stored once.
    await task_with_file(sessionmaker, facts, clock, rules, var, scope, store, pdf)
    assert len(await media_backend.keys(var / "media")) == 1
    async with server.client() as assigned, server.client() as other:
        await assigned.bind(await _code(sessionmaker, clock, w.people["sec2"]))
        await other.bind(await _code(sessionmaker, clock, w.people["sec0"]))
        status, body = await assigned.get(f"/attachments/{file_id}")
        assert status == 200 and body.startswith(b"%PDF-")
        status, body = await other.get(f"/attachments/{file_id}")
        assert status == 404 and b"%PDF" not in body
        status, _ = await other.get("/attachments/999999")
        assert status == 404
    # A link signed for 石门村's secretary is still only theirs: outside the task, 404.
    key = server.app[RULES].file_link_key
    until = clock.now().replace(year=2027)
    url = attachment_links.url(server.base_url, key, file_id, w.people["sec0"].id, until)
    async with aiohttp.ClientSession() as anyone, anyone.get(url) as resp:
        assert resp.status == 404
    expired = attachment_links.url(
        server.base_url, key, file_id, w.people["sec2"].id, clock.now().replace(year=2025)
    )
    async with aiohttp.ClientSession() as anyone, anyone.get(expired) as resp:
        assert resp.status == 403
    async with sessionmaker() as s:
        refused = await s.scalar(
            sa.select(sa.func.count())
            .select_from(Audit)
            .where(Audit.action == "refused", Audit.object.like("/attachments/%"))
        )
    assert refused >= 4


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("通知.pdf", b"hello, not a pdf at all")], "不是 PDF、Word（.docx）或 Excel（.xlsx）"),
        ([("表格.xlsx", zip_bytes())], "「表格.xlsx」不是 PDF"),
        ([("大文件.pdf", b"%PDF-1.4\n" + b"0" * LIMIT)], "太大了"),
        ([(f"模板{i}.docx", docx_bytes()) for i in range(6)], "附件最多 5 个"),
    ],
    ids=["fake_pdf", "zip_not_xlsx", "too_big", "too_many"],
)
async def test_console_form_refuses_bad_files_in_chinese_and_keeps_nothing(
    site, sessionmaker, clock, files, message
):
    facts, server, var = site
    w = facts.world
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        form = multipart(_fields(await browser.csrf(), w.townships[1].id), files)
        status, page, _ = await _post(browser, form)
    assert status == 400 and message in page
    assert "填报低保台账" in page  # what was typed comes back
    assert _staged(var) == []
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(TaskFile)) == 0
        assert await s.scalar(sa.select(Task.id).where(Task.title == "填报低保台账")) is None


async def test_a_docx_is_accepted_and_files_add_up_across_edits(site, sessionmaker, clock):
    facts, server, var = site
    w = facts.world
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        csrf = await browser.csrf()
        fields = [f for f in _fields(csrf, w.townships[1].id) if f[0] != "step"]
        status, page, _ = await _post(
            browser, multipart([*fields, ("step", "edit")], [("说明.docx", docx_bytes())])
        )
        assert status == 200 and "说明.docx" in page
        upload = dict(HIDDEN.findall(page))["upload"]
        status, preview, _ = await _post(
            browser,
            multipart(
                [*fields, ("upload", upload), ("step", "preview")], [("表.xlsx", xlsx_bytes())]
            ),
        )
        assert status == 200 and "附件 2 个" in preview and "说明.docx" in preview
    # Another person cannot confirm with this batch: it is not theirs.
    async with Browser(server.base_url) as other:
        await other.sign_in(sessionmaker, w.people["county1"], clock.now())
        carried = [*HIDDEN.findall(preview), ("step", "confirm")]
        carried = [(k, await other.csrf() if k == "csrf" else v) for k, v in carried]
        status, page, _ = await _post(other, carried)
    assert status == 400 and "已过期" in page
    assert await tasks_titled(sessionmaker, "填报低保台账") == []


async def test_a_forged_multipart_post_writes_no_file(site, sessionmaker, clock):
    facts, server, var = site
    w = facts.world
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        form = multipart(_fields("forged", w.townships[1].id), [("a.pdf", pdf_bytes())])
        status, page, _ = await _post(browser, form)
    assert status == 403
    assert _staged(var) == []


def test_names_are_cleaned_and_end_in_the_type_of_their_bytes():
    assert attachments.clean_name("../../etc/passwd", "pdf") == "passwd.pdf"
    assert attachments.clean_name("表\x00格.XLSX", "xlsx") == "表格.xlsx"
    assert attachments.clean_name("", "docx") == "附件.docx"
    assert len(attachments.clean_name("长" * 300 + ".pdf", "pdf")) == attachments.MAX_NAME


def test_sniff_reads_the_bytes_not_the_name(tmp_path):
    cases = {
        "a.pdf": (pdf_bytes(), "pdf"),
        "b.bin": (xlsx_bytes(), "xlsx"),
        "c.xlsx": (docx_bytes(), "docx"),
        "d.pdf": (b"%PD", None),
        "e.xlsx": (zip_bytes(), None),
        "f.docx": (b"PK\x03\x04broken", None),
    }
    for name, (data, kind) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert attachments.sniff(Path(path)) == kind, name


async def test_a_body_past_the_cap_is_refused_and_nothing_is_kept(site, sessionmaker, clock):
    from bot.web.console.uploads import body_cap

    facts, server, var = site
    w = facts.world
    huge = b"%PDF-1.4\n" + b"0" * (body_cap(LIMIT) + 1024)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        form = multipart(_fields(await browser.csrf(), w.townships[1].id), [("巨大.pdf", huge)])
        try:
            status, page, _ = await _post(browser, form)
        except aiohttp.ClientError:  # the server may stop reading before the upload ends
            status, page = 400, "上传的内容太多了"
    assert status == 400 and "上传的内容太多了" in page
    assert _staged(var) == []
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(TaskFile)) == 0


def test_sizes_read_as_people_write_them():
    assert attachments.human_size(attachments.MAX_FILE_BYTES) == "20 MB"
    assert attachments.human_size(1536 * 1024) == "1.5 MB"
    assert attachments.human_size(6000) == "6 KB"
    assert attachments.human_size(10) == "1 KB"
