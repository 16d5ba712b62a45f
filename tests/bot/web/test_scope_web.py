"""The web half of the scope matrix (tests/services/test_scope_matrix.py): the JSON API and
the console's ledger export, on the real app served on 127.0.0.1, with a real HTTP client.

Every role x (own / other village / other township / other county) target: a foreign
attempt gets the answer an unknown (or malformed) id gets, writes one ``refused`` audit row
naming the person, and changes nothing.
"""

from __future__ import annotations

import re

import aiohttp
import pytest
import sqlalchemy as sa

from core.numbers import Series
from services import tasks as task_service
from storage import api_tokens, counters, people
from storage.models import Audit, Job, Task
from tests.bot.web.console_kit import Browser
from tests.factories import add_county, make_world
from tests.webclient import webchat_server

ROLES = ("secretary", "team_member", "village_cadre", "township_staff", "county_staff")


@pytest.fixture
async def web(sessionmaker, clock, rules, database_url, tmp_path):
    home = await make_world(sessionmaker, clock.now())
    away = await add_county(sessionmaker, clock.now())
    v = home.villages
    async with sessionmaker() as s, s.begin():
        actors = {
            "secretary": home.people["sec0"],
            "township_staff": home.people["town0"],
            "county_staff": home.people["county0"],
        }
        for role in ("team_member", "village_cadre"):
            actors[role] = await people.add(
                s, name=role, role=role, region_id=v[0].id, now=clock.now()
            )
        tokens = {r: await api_tokens.create(s, p.id, clock.now()) for r, p in actors.items()}
        tasks, task_ids = {}, {}
        # Task numbers are a county's own; the other county's series starts further on, so
        # its task's number names nothing in this county (a foreign number is an unknown one).
        for _ in range(10):
            await counters.next_number(s, away.county.id, Series.TASK)
        for key, staff in (
            ("own", home.people["county0"]),
            ("other_county", away.people["county"]),
        ):
            draft = task_service.TaskDraft(kind="notice", title="通知")
            made = await task_service.create_task(s, staff, draft, now=clock.now(), rules=rules)
            tasks[key], task_ids[key] = made.task.number, made.task.id
    regions = {
        "own": v[0].id,
        "other_village": v[1].id,
        "other_township": v[2].id,
        "other_county": away.villages[0].id,
    }
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with aiohttp.ClientSession(base_url=server.base_url) as client:
            yield {
                "client": client,
                "server": server,
                "actors": actors,
                "tokens": tokens,
                "tasks": tasks,
                "task_ids": task_ids,
                "regions": regions,
            }


async def refusals(sm) -> list[int | None]:
    async with sm() as s:
        return list(
            await s.scalars(
                sa.select(Audit.person_id).where(Audit.action == "refused").order_by(Audit.id)
            )
        )


async def test_api_task_ids_of_another_county_answer_like_unknown_ones(web, sessionmaker):
    c, n = web["client"], 0
    for role in ROLES:
        auth = {"Authorization": f"Bearer {web['tokens'][role]}"}
        answers = []
        for path in (web["tasks"]["other_county"], 999_999, "abc", "99999999999999"):
            before = await refusals(sessionmaker)
            r = await c.get(f"/api/tasks/{path}", headers=auth)
            body = await r.json()
            answers.append((r.status, body["error"], re.sub(r"\d+", "#", body["message"])))
            assert (await refusals(sessionmaker))[len(before) :] == [web["actors"][role].id]
            n += 1
        assert len(set(answers)) == 1, (role, answers)  # "没有任务 #" for every kind
        staff = role in ("county_staff", "township_staff")  # the API's users
        assert answers[0][0] == (404 if staff else 403)
        own = await c.get(f"/api/tasks/{web['tasks']['own']}", headers=auth)
        # The county's own task; a township reads only the tasks its township sent.
        assert own.status == {"county_staff": 200, "township_staff": 404}.get(role, 403)
    assert n == 20
    async with sessionmaker() as s:  # the other county's task is as it was
        status = await s.scalar(
            sa.select(Task.status).where(Task.id == web["task_ids"]["other_county"])
        )
    assert status == "active"


def visible(role: str, scope: str) -> bool:
    if role == "county_staff":
        return scope != "other_county"
    if role == "township_staff":
        return scope in ("own", "other_village")
    return scope == "own"  # a village's people: their own village's ledger only


async def test_ledger_exports_of_a_foreign_region_are_refused_and_audited(web, sessionmaker, clock):
    """The console's 导出 (which replaced the chat's signed download link): every role x
    region; a foreign or unknown region gets one answer, a refusal row, and no job."""
    n = 0
    for role in ROLES:
        person = web["actors"][role]
        refused_pages = set()
        async with Browser(web["server"].base_url) as browser:
            await browser.sign_in(sessionmaker, person, clock.now())
            csrf = await browser.csrf()
            targets = {**web["regions"], "unknown": 999_999}
            for scope, region_id in targets.items():
                async with sessionmaker() as s, s.begin():
                    await s.execute(sa.delete(Job))  # two unfinished exports per person
                before = await refusals(sessionmaker)
                resp = await browser.post(
                    "/console/exports", {"csrf": csrf, "month": "2026-11", "region": region_id}
                )
                if scope != "unknown" and visible(role, scope):
                    assert resp.status == 303, (role, scope)
                    continue
                assert resp.status == 403, (role, scope)
                _, page = await browser.get(f"/console/exports?region={region_id}")
                refused_pages.add(page.split("<main>", 1)[1])
                assert (await refusals(sessionmaker))[len(before) :] == [person.id] * 2
                async with sessionmaker() as s:
                    assert await s.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
                n += 1
        assert len(refused_pages) == 1, role  # one answer for foreign and unknown regions
    assert n == 3 * 3 + 2 + 1 + len(ROLES)
