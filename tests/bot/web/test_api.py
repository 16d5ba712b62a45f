"""The county staff JSON API on a real aiohttp server on 127.0.0.1, with a real client."""

from __future__ import annotations

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.app import create_app
from bot.config import load_config
from storage import api_tokens, people, regions
from storage.models import Assignment, Audit, OutboxMessage, Task
from tests.factories import make_world


@pytest.fixture
async def api(sessionmaker, clock, database_url, tmp_path):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        token = await api_tokens.create(s, world.people["county0"].id, clock.now())
        other_county = await regions.add(s, "county", "邻县")
        other_town = await regions.add(s, "township", "外乡", other_county.id)
        await regions.add(s, "village", "外村", other_town.id)
        stranger = await people.add(
            s, name="邻县干部", role="county_staff", region_id=other_county.id, now=clock.now()
        )
        other_token = await api_tokens.create(s, stranger.id, clock.now())
        sec_token = await api_tokens.create(s, world.people["sec0"].id, clock.now())
        town_token = await api_tokens.create(s, world.people["town0"].id, clock.now())
        town1_token = await api_tokens.create(s, world.people["town1"].id, clock.now())
    config = load_config(database_url=database_url, var_dir=tmp_path, media_dir=tmp_path / "m")
    app = create_app(config, clock=clock, auto_upgrade=False, run_workers=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as client:
        yield {
            "client": client,
            "world": world,
            "token": token,
            "other": other_token,
            "sec": sec_token,
            "town": town_token,
            "town1": town1_token,
        }
    await runner.cleanup()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


async def test_create_task_for_a_township_and_read_its_status(api, sessionmaker):
    c = api["client"]
    payload = {
        "title": "上报危房改造进度",
        "deadline": "12月5日前",
        "scope": {"townships": ["东岭镇"]},
        "evidence_required": True,
        "reminder_offsets": ["2d", "6h"],
    }
    r = await c.post("/api/tasks", json=payload, headers=auth(api["token"]))
    assert r.status == 201, await r.text()
    created = await r.json()
    assert created["assignments"] == 2 and created["deadline"].startswith("2026-12-05T10:00")
    assert created["number"] == 1 and "id" not in created  # the county's 任务 1, as in chat
    r = await c.get(f"/api/tasks/{created['number']}", headers=auth(api["token"]))
    status = await r.json()
    assert r.status == 200 and status["counts"] == {"pending": 2} and status["number"] == 1
    assert {v["village"] for v in status["villages"]} == {"石门村", "柳树村"}
    assert not any("assignment_id" in v for v in status["villages"])  # never exposed
    async with sessionmaker() as s:
        import sqlalchemy as sa

        pushes = list(await s.scalars(sa.select(OutboxMessage)))
    assert len(pushes) == 2 and all("任务 1" in p.body["text"] for p in pushes)


async def test_bad_or_missing_token_is_401(api):
    c = api["client"]
    r = await c.post("/api/tasks", json={"title": "x"}, headers=auth("cb_nope"))
    assert r.status == 401 and (await r.json())["error"] == "unauthorized"
    r = await c.get("/api/tasks/1")
    assert r.status == 401


async def test_another_countys_task_is_404_like_an_unknown_one(api):
    c = api["client"]
    r = await c.post(
        "/api/tasks", json={"title": "通知", "kind": "notice"}, headers=auth(api["token"])
    )
    number = (await r.json())["number"]
    r = await c.get(f"/api/tasks/{number}", headers=auth(api["other"]))
    foreign = await r.json()
    assert r.status == 404 and foreign["error"] == "not_found"
    r = await c.get(f"/api/tasks/{number + 1000}", headers=auth(api["other"]))
    assert {**foreign, "message": ""} == {**(await r.json()), "message": ""}


async def test_secretary_token_cannot_use_the_api(api):
    r = await api["client"].post(
        "/api/tasks", json={"title": "x", "deadline": "明天"}, headers=auth(api["sec"])
    )
    assert r.status == 403


async def test_township_staff_create_tasks_for_their_own_villages_only(api, sessionmaker):
    c, world = api["client"], api["world"]
    mine = {"title": "核对低保名单", "deadline": "12月5日前", "scope": {"villages": ["石门村"]}}
    r = await c.post("/api/tasks", json=mine, headers=auth(api["town"]))
    assert r.status == 201, await r.text()
    created = await r.json()
    assert created["assignments"] == 1
    # 全县 from a township means its own township's villages.
    r = await c.post(
        "/api/tasks",
        json={"title": "全镇排查", "deadline": "明天", "scope": {"county": True}},
        headers=auth(api["town"]),
    )
    assert r.status == 201 and (await r.json())["assignments"] == 2
    # A village of another township (西川乡's 杏花村) is refused and nothing is sent.
    async with sessionmaker() as s:
        before = await s.scalar(sa.select(sa.func.count()).select_from(Assignment))
    foreign = {"title": "越界任务", "deadline": "明天", "scope": {"villages": ["杏花村"]}}
    r = await c.post("/api/tasks", json=foreign, headers=auth(api["town"]))
    assert r.status == 403
    body = await r.json()
    assert body["message"] == "「杏花村」不在东岭镇，乡镇只能给本乡镇的村发任务。"
    r = await c.post(
        "/api/tasks",
        json={**foreign, "scope": {"townships": ["西川乡"]}},
        headers=auth(api["town"]),
    )
    assert r.status == 403
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Assignment)) == before
        assert not await s.scalar(sa.select(Task.id).where(Task.title == "越界任务"))
        refusals = (
            await s.scalars(
                sa.select(Audit).where(
                    Audit.action == "refused", Audit.person_id == world.people["town0"].id
                )
            )
        ).all()
    assert len(refusals) == 2
    # The sending township reads its task; another township gets the unknown-id answer.
    r = await c.get(f"/api/tasks/{created['number']}", headers=auth(api["town"]))
    assert r.status == 200 and [v["village"] for v in (await r.json())["villages"]] == ["石门村"]
    r = await c.get(f"/api/tasks/{created['number']}", headers=auth(api["town1"]))
    assert r.status == 404


BAD_REQUESTS = [
    (b"{not json", "malformed_json", None),
    (b"[1, 2]", "malformed_json", None),
    (b'{"title": "", "deadline": "\\u660e\\u5929"}', "invalid_field", "title"),
    ('{"title": "x", "deadline": "11月1日"}'.encode(), "invalid_field", "deadline"),
    (b'{"title": "x"}', "invalid_field", "deadline"),
    ('{"title": "x", "deadline": "明天", "kind": "poll"}'.encode(), "invalid_field", "kind"),
    (
        '{"title": "x", "deadline": "明天", "scope": {"city": 1}}'.encode(),
        "invalid_field",
        "scope",
    ),
    (
        '{"title": "x", "deadline": "明天", "reminder_offsets": ["soon"]}'.encode(),
        "invalid_field",
        "reminder_offsets",
    ),
    ('{"title": 5, "deadline": "明天"}'.encode(), "invalid_field", "title"),
]


async def test_malformed_or_invalid_request_is_400_with_json_error(api):
    for body, code, field in BAD_REQUESTS:
        r = await api["client"].post(
            "/api/tasks",
            data=body,
            headers={**auth(api["token"]), "Content-Type": "application/json"},
        )
        assert r.status == 400, body
        err = await r.json()
        assert err["error"] == code and err["message"], body
        assert err.get("field") == field, body


async def test_unknown_village_lists_near_names(api):
    r = await api["client"].post(
        "/api/tasks",
        json={"title": "x", "deadline": "明天", "scope": {"villages": ["石门"]}},
        headers=auth(api["token"]),
    )
    err = await r.json()
    assert r.status == 400 and err["error"] == "invalid_scope" and "石门村" in err["near"]


async def test_app_starts_and_stops_the_scheduler_with_its_workers(
    sessionmaker, clock, database_url, tmp_path
):
    from bot.app import SCHEDULER

    config = load_config(database_url=database_url, var_dir=tmp_path, media_dir=tmp_path / "m")
    app = create_app(config, clock=clock, auto_upgrade=False, run_workers=True)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        aps = app[SCHEDULER]._aps
        assert aps is not None and aps.running
        assert {j.id for j in aps.get_jobs()} >= {"reminders", "catch_up"}
    finally:
        await runner.cleanup()
    assert app[SCHEDULER]._aps is None
