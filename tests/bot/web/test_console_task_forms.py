"""The console's task forms against the real app: send a task (form -> preview -> 确认发送)
and withdraw one after 确认撤销?, through the chat's use cases; scope on the server, CSRF on
every new POST (review's too, see test_console_review), no 5xx from forged ids."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from storage.models import Assignment, Audit, Task
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_forms_kit import (
    SHANGHAI,
    item_of,
    outbox_states,
    submitted,
    tasks_titled,
)
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server

HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')
DEADLINE = "2026-11-13T18:00"  # the clock stands at 2026-11-10 10:00 Shanghai time


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server, tmp_path / "var" / "media"


def _form(csrf: str, **extra: object) -> list[tuple[str, str]]:
    fields = {"csrf": csrf, "kind": "task", "title": "排查危房", "body": "请逐户排查。"}
    fields.update({k: v for k, v in extra.items() if not isinstance(v, list)})
    out = [(k, str(v)) for k, v in fields.items()]
    for k, v in extra.items():
        if isinstance(v, list):
            out += [(k, str(x)) for x in v]
    return out


async def test_console_task_form_previews_then_creates_and_pushes(site, sessionmaker, clock):
    facts, server, _ = site
    w = facts.world
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        status, page = await browser.get("/console/tasks")
        assert 'href="/console/tasks/new"' in page
        status, page = await browser.get("/console/tasks/new")
        assert status == 200
        for name in ("东岭镇", "西川乡", "石门村", "柳树村", "杏花村", "河湾村"):
            assert name in page
        csrf = await browser.csrf()
        form = _form(
            csrf,
            step="preview",
            deadline=DEADLINE,
            evidence="1",
            town=[w.townships[1].id],
            village=[w.villages[0].id],
        )
        async with browser.http.post(server.url("/console/tasks/new"), data=form) as resp:
            assert resp.status == 200
            preview = await resp.text()
        assert "确认发送" in preview and "共 3 个村" in preview
        assert "石门村" in preview and "杏花村、河湾村" in preview
        assert "确认后立即推送" in preview
        assert "柳树村" not in preview
        assert await tasks_titled(sessionmaker, "排查危房") == []  # nothing before 确认

        # 确认发送 posts what the preview page carries.
        carried = [(k, v) for k, v in HIDDEN.findall(preview)] + [("step", "confirm")]
        async with browser.http.post(
            server.url("/console/tasks/new"), data=carried, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            where = resp.headers["Location"]
        [task] = await tasks_titled(sessionmaker, "排查危房")
        assert where == f"/console/tasks/{task.number}?done=sent"
        assert task.evidence_required and task.body == "请逐户排查。"
        assert task.deadline is not None
        assert task.deadline.astimezone(SHANGHAI) == datetime(2026, 11, 13, 18, 0, tzinfo=SHANGHAI)
        async with sessionmaker() as s:
            items = list(
                await s.scalars(sa.select(Assignment).where(Assignment.task_id == task.id))
            )
            audit = await s.scalar(
                sa.select(Audit).where(
                    Audit.action == "task.create", Audit.object == f"task:{task.id}"
                )
            )
        assert {i.village_id for i in items} == {w.villages[k].id for k in (0, 2, 3)}
        assert audit is not None and audit.detail["via"] == "console"
        queued = await outbox_states(sessionmaker, [f"task:{i.id}" for i in items])
        assert sorted(queued.values()) == ["pending"] * 3  # a push to each village's secretary
        status, page = await browser.get(where)
        assert status == 200 and "已发送" in page and "排查危房" in page


async def test_console_task_form_reshows_what_was_typed_with_the_reason(site, sessionmaker, clock):
    facts, server, _ = site
    w = facts.world
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        csrf = await browser.csrf()
        cases = (
            ({"deadline": DEADLINE}, "请至少勾选一个乡镇或村"),
            ({"deadline": "2026-11-01T08:00", "village": [w.villages[1].id]}, "截止时间已经过了"),
            ({"deadline": "明天下午", "village": [w.villages[1].id]}, "截止时间的格式不对"),
            ({"village": [w.villages[1].id]}, "截止"),
        )
        for extra, message in cases:
            form = _form(csrf, step="preview", **extra)
            async with browser.http.post(server.url("/console/tasks/new"), data=form) as resp:
                page = await resp.text()
                assert resp.status == 400, page
            assert message in page and 'value="排查危房"' in page and "请逐户排查。" in page
            if "village" in extra:
                assert re.search(rf'value="{w.villages[1].id}" checked', page)
    assert await tasks_titled(sessionmaker, "排查危房") == []


async def test_township_officer_cannot_send_to_another_townships_village_from_the_form(
    site, sessionmaker, clock
):
    facts, server, _ = site
    w = facts.world
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town0"], clock.now())
        status, page = await browser.get("/console/tasks/new")
        assert status == 200
        assert "石门村" in page and "柳树村" in page
        assert "杏花村" not in page and "西川乡" not in page
        csrf = await browser.csrf()
        forged = (
            {"village": [w.villages[0].id, w.villages[2].id]},
            {"town": [w.townships[1].id]},
        )
        for extra in forged:
            for step in ("preview", "confirm"):
                form = _form(csrf, step=step, deadline=DEADLINE, **extra)
                async with browser.http.post(server.url("/console/tasks/new"), data=form) as resp:
                    page = await resp.text()
                    assert resp.status == 403, page
                assert "杏花村" not in page and "只能" in page
        # Their own villages go through.
        form = _form(csrf, step="confirm", deadline=DEADLINE, village=[w.villages[1].id])
        async with browser.http.post(
            server.url("/console/tasks/new"), data=form, allow_redirects=False
        ) as resp:
            assert resp.status == 303
    [task] = await tasks_titled(sessionmaker, "排查危房")
    async with sessionmaker() as s:
        villages = set(
            await s.scalars(sa.select(Assignment.village_id).where(Assignment.task_id == task.id))
        )
        refused = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "refused")
        )
    assert villages == {w.villages[1].id}
    assert refused and refused >= 4
    # A secretary gets no form at all.
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["sec0"], clock.now())
        status, page = await browser.get("/console/tasks/new")
        assert status == 403 and 'name="village"' not in page


async def test_cancel_asks_first_and_stops_pushes(site, sessionmaker, clock):
    facts, server, _ = site
    w = facts.world
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        csrf = await browser.csrf()
        form = _form(csrf, step="confirm", deadline=DEADLINE, town=[w.townships[0].id])
        async with browser.http.post(
            server.url("/console/tasks/new"), data=form, allow_redirects=False
        ) as resp:
            assert resp.status == 303
        [task] = await tasks_titled(sessionmaker, "排查危房")
        status, page = await browser.get(f"/console/tasks/{task.number}")
        assert f'href="/console/tasks/{task.number}/cancel"' in page
        status, page = await browser.get(f"/console/tasks/{task.number}/cancel")
        assert status == 200 and "确认撤销" in page and "排查危房" in page
        [task] = await tasks_titled(sessionmaker, "排查危房")
        assert task.status == "active"  # asking changes nothing
        resp = await browser.post(f"/console/tasks/{task.number}/cancel", {"csrf": csrf})
        assert resp.status == 303
        status, page = await browser.get(resp.headers["Location"])
        assert "已撤销" in page and "/cancel" not in page
    [task] = await tasks_titled(sessionmaker, "排查危房")
    async with sessionmaker() as s:
        ids = list(await s.scalars(sa.select(Assignment.id).where(Assignment.task_id == task.id)))
    assert task.status == "cancelled" and len(ids) == 2
    assert sorted((await outbox_states(sessionmaker, [f"task:{i}" for i in ids])).values()) == [
        "cancelled",
        "cancelled",
    ]


async def test_only_the_creator_or_an_admin_may_withdraw_from_the_console(
    site, sessionmaker, clock
):
    facts, server, _ = site
    number = facts.task_id  # county0's
    # Another county officer is refused; a township officer (who withdraws only their own
    # tasks) is answered as if the task were unknown.
    for who, refused in (("county1", 403), ("town0", 404)):
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, facts.world.people[who], clock.now())
            status, page = await browser.get(f"/console/tasks/{number}")
            assert status == 200 and "/cancel" not in page
            status, _ = await browser.get(f"/console/tasks/{number}/cancel")
            assert status == refused
            resp = await browser.post(
                f"/console/tasks/{number}/cancel", {"csrf": await browser.csrf()}
            )
            assert resp.status == refused
    [task] = await tasks_titled(sessionmaker, "核查饮水安全")
    assert task.status == "active"


async def test_console_forms_refuse_forged_ids_without_5xx(site, sessionmaker, clock, rules):
    facts, server, media_dir = site
    w, away = facts.world, facts.away
    number, vid, _path, _thumb = await submitted(sessionmaker, facts, clock, rules, media_dir)
    forged_gets = (
        f"/console/tasks/{number}/villages/{away.villages[0].id}",
        f"/console/tasks/{number}/villages/0",
        f"/console/tasks/{number}/villages/abc",
        f"/console/tasks/{number}/villages/99999999999999999999",
        f"/console/tasks/{facts.away_task_id}/villages/{away.villages[0].id}",
        "/console/tasks/999/villages/1",
        f"/console/tasks/{facts.away_task_id}/cancel",
        "/console/tasks/-1/cancel",
        "/console/media/../../../etc/passwd",
        "/console/media/%2e%2e/%2e%2e/etc/passwd",
        "/console/media/00/nothing.jpg",
    )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        csrf = await browser.csrf()
        for path in forged_gets:
            status, page = await browser.get(path)
            assert status in (403, 404), (path, status)
        for path in forged_gets[:7]:
            target = path if path.endswith("/cancel") else path + "/approve"
            resp = await browser.post(target, {"csrf": csrf})
            assert resp.status in (403, 404), (target, resp.status)
            if not path.endswith("/cancel"):
                resp = await browser.post(
                    path + "/return", {"csrf": csrf, "reason": "x", "deadline": "2026-11-15T12:00"}
                )
                assert resp.status in (403, 404), (path, resp.status)
        for extra in (
            {"village": [away.villages[0].id]},
            {"village": ["abc", "0", "-5", "1e9"]},
            {"town": [away.county.id, 99999999]},
            {"kind": "rectify", "village": [vid]},
            {"title": "x" * 5000, "village": [vid]},
        ):
            for step in ("preview", "confirm", "edit", "bogus"):
                form = _form(csrf, step=step, deadline=DEADLINE, **extra)
                async with browser.http.post(server.url("/console/tasks/new"), data=form) as resp:
                    assert resp.status < 500, (extra, step, resp.status)
                    assert resp.status in (200, 400, 403, 404), (extra, step, resp.status)
    assert (await item_of(sessionmaker, number, vid)).status == "submitted"
    assert await tasks_titled(sessionmaker, "排查危房") == []


async def test_every_new_console_post_refuses_a_missing_or_wrong_csrf_token(
    site, sessionmaker, clock, rules
):
    facts, server, media_dir = site
    number, vid, _path, _thumb = await submitted(sessionmaker, facts, clock, rules, media_dir)
    base = f"/console/tasks/{number}/villages/{vid}"
    posts = {
        "/console/tasks/new": _form(
            "", step="confirm", deadline=DEADLINE, village=[facts.world.villages[1].id]
        ),
        base + "/approve": [],
        base + "/return": [("reason", "照片不清"), ("deadline", "")],
        f"/console/tasks/{number}/cancel": [],
    }
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        for path, fields in posts.items():
            for token in ("", "forged-token"):
                data = [(k, v) for k, v in fields if k != "csrf"] + [("csrf", token)]
                async with browser.http.post(
                    server.url(path), data=data, allow_redirects=False
                ) as resp:
                    page = await resp.text()
                    assert resp.status == 403, (path, resp.status)
                assert "安全校验未通过" in page
    assert (await item_of(sessionmaker, number, vid)).status == "submitted"
    assert await tasks_titled(sessionmaker, "排查危房") == []
    async with sessionmaker() as s:
        [task] = list(await s.scalars(sa.select(Task).where(Task.number == number)))
    assert task.status == "active"


async def test_new_task_routes_without_a_session_ask_to_sign_in_and_change_nothing(
    site, sessionmaker
):
    facts, server, _ = site
    number, vid = facts.task_id, facts.world.villages[0].id
    base = f"/console/tasks/{number}"
    async with Browser(server.base_url) as browser:
        for path in ("/console/tasks/new", f"{base}/cancel", f"{base}/villages/{vid}"):
            status, page = await browser.get(path)
            assert status == 401 and "后台" in page and "核查饮水安全" not in page
        for path in (
            "/console/tasks/new",
            f"{base}/cancel",
            f"{base}/villages/{vid}/approve",
            f"{base}/villages/{vid}/return",
        ):
            resp = await browser.post(path, {"step": "confirm", "title": "x", "reason": "y"})
            assert resp.status == 401, path
        assert (await browser.get("/console/media/00/any.jpg"))[0] == 401
    [task] = await tasks_titled(sessionmaker, "核查饮水安全")
    assert task.status == "active"
