"""Drive the console's background jobs like a browser would: submit a form, follow to the
job's page, poll its progress until it ends, then fetch the file."""

from __future__ import annotations

import asyncio
from datetime import datetime
from html import unescape
from typing import Any

from services import console_auth
from storage.people import PersonDTO
from tests.bot.web.console_kit import CSRF, PRE, Browser

POLL = 0.05  # seconds between polls (a wait, not a timing assertion)
POLLS = 2400


async def wait_job(browser: Browser, job_path: str) -> dict[str, Any]:
    """Poll ``/progress`` until the job is done or failed; its last JSON."""
    for _ in range(POLLS):
        async with browser.http.get(f"{browser.base_url}{job_path}/progress") as resp:
            assert resp.status == 200, resp.status
            data: dict[str, Any] = await resp.json()
        if data["status"] in ("done", "failed"):
            return data
        await asyncio.sleep(POLL)
    raise AssertionError(f"job {job_path} did not end")


async def submit(browser: Browser, path: str, data: Any) -> str:
    """POST a job form; the job page it redirects to."""
    resp = await browser.post(path, data)
    assert resp.status == 303, resp.status
    where = resp.headers["Location"]
    assert where.startswith("/console/jobs/"), where
    return where


async def export(browser: Browser, month: str, region: int | None = None) -> tuple[str, bytes]:
    """Ask for an export, wait for it, download it: (job page, file bytes)."""
    form = {"csrf": await browser.csrf(), "month": month}
    if region is not None:
        form["region"] = str(region)
    job = await submit(browser, "/console/exports", form)
    data = await wait_job(browser, job)
    assert data["status"] == "done", data
    async with browser.http.get(f"{browser.base_url}{job}/file") as resp:
        assert resp.status == 200, resp.status
        assert "attachment" in resp.headers["Content-Disposition"]
        return job, await resp.read()


async def client_export(
    client: Any, sm: Any, person: PersonDTO, now: datetime, month: str, region: int | None = None
) -> tuple[int, bytes]:
    """The same with an aiohttp TestClient (its own cookie jar): sign ``person`` in to the
    console, ask for the export and download it. (status of the request, file or page)."""
    async with sm() as s, s.begin():
        link = await console_auth.issue_link(s, person, now=now, public_url="", via="cli")
    token = link.url.split("t=", 1)[1]
    page = await (await client.get(link.url)).text()
    pre = PRE.search(page)
    assert pre, page
    resp = await client.post(
        "/console/login", data={"t": token, "pre": pre[1]}, allow_redirects=False
    )
    assert resp.status == 303
    csrf = CSRF.search(unescape(await (await client.get("/console")).text()))
    assert csrf
    form = {"csrf": csrf[1], "month": month}
    if region is not None:
        form["region"] = str(region)
    resp = await client.post("/console/exports", data=form, allow_redirects=False)
    if resp.status != 303:
        return resp.status, await resp.read()
    job = resp.headers["Location"]
    for _ in range(POLLS):
        data = await (await client.get(f"{job}/progress")).json()
        if data["status"] in ("done", "failed"):
            break
        await asyncio.sleep(POLL)
    assert data["status"] == "done", data
    resp = await client.get(f"{job}/file")
    return resp.status, await resp.read()
