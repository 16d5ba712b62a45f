"""Hostile requests to the JSON API on a real server: never a 5xx, a Chinese message on every
refusal, nothing created by a refused request, ``/healthz`` healthy throughout (issue 11)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st
from yarl import URL

from storage.models import Task
from tests.bot.web.test_api import api, auth  # noqa: F401 (fixture)
from tests.fuzzkit import (
    CORPUS_TEXT,
    DEADLINE_BOMB,
    DEEP_LIST,
    DEEP_OBJECT,
    HOSTILE_TEXT,
    HUGE_NUMBER,
    JSON_ANY,
    LONG_INT,
    NUMBERS,
    TWELVE_DIGIT_ID,
    draw,
    dumps,
    tracebacks,
)

FIELD_VALUES = st.one_of(HOSTILE_TEXT, JSON_ANY, NUMBERS)
BODIES = st.one_of(
    st.fixed_dictionaries(
        {"title": HOSTILE_TEXT, "deadline": HOSTILE_TEXT},
        optional={
            "body": FIELD_VALUES,
            "kind": st.sampled_from(["task", "notice", "x"]) | FIELD_VALUES,
            "scope": st.one_of(
                st.fixed_dictionaries({"villages": st.lists(HOSTILE_TEXT | NUMBERS, max_size=3)}),
                st.fixed_dictionaries({"townships": st.lists(HOSTILE_TEXT | NUMBERS, max_size=3)}),
                JSON_ANY,
            ),
            "evidence_required": FIELD_VALUES,
            "reminder_offsets": st.lists(HOSTILE_TEXT, max_size=3) | FIELD_VALUES,
        },
    ),
    st.dictionaries(HOSTILE_TEXT, JSON_ANY, max_size=5),
    JSON_ANY,
)
RAW_BODIES = [
    DEEP_LIST,
    DEEP_OBJECT,
    '{"title": "t", "deadline": "明天", "x": ' + HUGE_NUMBER + "}",
    '{"title": "t", "deadline": "明天", "x": NaN}',
    '{"title": "t", "deadline": "明天", "x": ' + LONG_INT + "}",
    '{"title": "\\u0000", "deadline": "明天"}',
    b"\xff\xfe not utf-8",
]
TASK_IDS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30),
)


async def task_count(sessionmaker) -> int:
    async with sessionmaker() as s:
        return await s.scalar(sa.select(sa.func.count()).select_from(Task)) or 0


async def post(c, token, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes | str) else dumps(body)
    headers = {**auth(token), "Content-Type": "application/json"}
    async with c.post("/api/tasks", data=data, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_hostile_task_bodies_never_get_5xx_and_refusals_create_nothing(
    api,  # noqa: F811
    sessionmaker,
    caplog,
):
    c, token = api["client"], api["token"]
    bodies = draw(BODIES) + RAW_BODIES
    bodies += [{"title": t, "deadline": "明天", "scope": {"county": True}} for t in CORPUS_TEXT]
    bodies += [{"title": "检查", "deadline": DEADLINE_BOMB}]
    for n, body in enumerate(bodies):
        before = await task_count(sessionmaker)
        status, answer = await post(c, token, body)
        assert status < 500, (status, body)
        if status != 201:
            assert await task_count(sessionmaker) == before, body
            assert answer["message"] and answer["error"], answer
        if n % 20 == 0:
            async with c.get("/healthz") as r:
                assert r.status == 200
    assert len(bodies) >= 60
    assert tracebacks(caplog) == []


async def test_task_ids_of_any_shape_are_404_or_403_never_5xx(api, caplog):  # noqa: F811
    c, token = api["client"], api["token"]
    ids = draw(TASK_IDS) + [TWELVE_DIGIT_ID, "2147483648", "0", "-1", "٣", "1e3", "%00"]
    for raw in ids:
        url = URL("/api/tasks/" + quote(raw, safe=""), encoded=True)
        async with c.get(url, headers=auth(token)) as r:
            assert r.status < 500, (r.status, raw)
            if r.content_type != "application/json":  # no route (e.g. an encoded "/")
                assert r.status == 404, raw
            elif r.status != 200:
                assert (await r.json())["message"]
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("raw", [TWELVE_DIGIT_ID, "2147483648", "99999999999999999999", "0", "٣"])
async def test_an_id_beyond_any_task_is_404_with_a_chinese_message(api, raw):  # noqa: F811
    async with api["client"].get(f"/api/tasks/{raw}", headers=auth(api["token"])) as r:
        assert r.status == 404
        body = await r.json()
    assert body["error"] == "not_found" and "没有任务" in body["message"]


@pytest.mark.parametrize("raw", RAW_BODIES, ids=lambda r: repr(r[:24]))
async def test_deep_huge_or_nan_json_is_a_400_with_a_chinese_message(api, sessionmaker, raw):  # noqa: F811
    status, answer = await post(api["client"], api["token"], raw)
    assert status == 400
    assert "JSON" in answer["message"] or "title" in answer["message"]
    assert await task_count(sessionmaker) == 0


async def test_a_deadline_of_three_million_working_days_is_refused_at_once(api, sessionmaker):  # noqa: F811
    status, answer = await post(
        api["client"], api["token"], {"title": "检查", "deadline": DEADLINE_BOMB}
    )
    assert status == 400
    assert answer["field"] == "deadline" and "太远" in answer["message"]
