"""问答 in the console: the county's unanswered-question queue (paged), 答复 pushed to the asker
and 存为问答 answered by the chat afterwards, through services.faq (the chat's use cases);
another county's question number is answered like an unknown one; posts need the CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from core.numbers import Series
from services import audit_refusals
from storage import counters, people, questions
from storage.models import Audit, OutboxMessage, Question
from tests.bot.web.console_kit import Browser
from tests.factories import add_county, make_world
from tests.webclient import webchat_server

UNKNOWN = "村里的光伏电站收益怎么分配给村民"
STAFF_ANSWER = "按村集体经济收益分配方案，经村民代表大会通过并公示后发放。"
NUMBER = re.compile(r'id="question-(\d+)"')


async def _code(sessionmaker, clock, person) -> str:
    async with sessionmaker() as s, s.begin():
        invite = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=clock.now(), person_id=person.id
        )
    return invite.code


async def _queue(sessionmaker, clock, asker, county_id: int, n: int, start: int = 0) -> None:
    async with sessionmaker() as s, s.begin():
        for i in range(n):
            await questions.record(
                s,
                asked_by=asker.id,
                county_id=county_id,
                text=f"第{start + i}个问题，电话13812345678",
                status=questions.PENDING,
                now=clock.now() - timedelta(minutes=100 - i),
            )


async def _question(sessionmaker, county_id: int, number: int) -> Question:
    async with sessionmaker() as s:
        row = await s.scalar(
            sa.select(Question).where(Question.county_id == county_id, Question.number == number)
        )
        assert row is not None
        return row


async def test_console_faq_queue_lists_the_countys_questions_paged(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    away = await add_county(sessionmaker, clock.now())
    await _queue(sessionmaker, clock, world.people["sec1"], world.county.id, 25)
    await _queue(sessionmaker, clock, away.people["sec"], away.county.id, 3, start=100)
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
            status, overview = await browser.get("/console")
            assert status == 200 and 'href="/console/faq"' in overview
            status, first = await browser.get("/console/faq")
            assert status == 200
            assert NUMBER.findall(first) == [str(n) for n in range(1, 21)]  # oldest first
            assert "第 1 / 2 页，共 25 条" in first
            assert world.villages[1].name in first  # the asker's village
            assert "第0个问题" in first and "13812345678" not in first  # masked
            assert "第100个问题" not in first  # not another county's
            status, second = await browser.get("/console/faq?page=2")
            assert status == 200 and NUMBER.findall(second) == ["21", "22", "23", "24", "25"]
            status, _ = await browser.get("/console/faq?page=0")
            assert status == 400
        async with Browser(server.base_url) as officer:
            # services.faq: the queue is for county staff; a township officer is refused.
            await officer.sign_in(sessionmaker, world.people["town0"], clock.now())
            status, page = await officer.get("/console/faq")
            assert status == 403 and "第0个问题" not in page


async def _answer_round(sessionmaker, clock, world, server, sec):
    """The secretary asks an unknown question over the web chat; county0 answers it from the
    console. Returns the signed-in console browser's question number and the browser."""
    handed = await sec.say(UNKNOWN)
    assert "已转给县里" in handed
    number = int(handed.split("提问 ")[1].split("）")[0])
    browser = Browser(server.base_url)
    await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
    _, page = await browser.get("/console/faq")
    assert f'id="question-{number}"' in page and UNKNOWN in page
    csrf = await browser.csrf()
    blank = await browser.post(f"/console/faq/{number}/answer", {"csrf": csrf, "answer": " "})
    assert blank.status == 400
    too_long = "很" * 1001
    async with browser.http.post(
        server.url(f"/console/faq/{number}/answer"),
        data={"csrf": csrf, "answer": too_long},
        allow_redirects=False,
    ) as resp:
        page = await resp.text()
        assert resp.status == 400 and "答复太长了" in page and too_long in page  # kept
    resp = await browser.post(
        f"/console/faq/{number}/answer", {"csrf": csrf, "answer": STAFF_ANSWER, "page": "1"}
    )
    assert resp.status == 303
    assert resp.headers["Location"] == f"/console/faq?page=1&n={number}&done=answered"
    return number, browser


async def test_answering_from_the_console_pushes_the_answer_to_the_asker(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    sec_code = await _code(sessionmaker, clock, world.people["sec0"])
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as sec:
            assert "绑定成功" in (await sec.bind(sec_code))[0]["text"]
            number, browser = await _answer_round(sessionmaker, clock, world, server, sec)
            async with browser:
                server.wake_delivery()
                push = await sec.next_push(timeout=15)
                assert STAFF_ANSWER in push["text"] and UNKNOWN in push["text"]
                status, page = await browser.get(f"/console/faq?page=1&n={number}&done=answered")
                assert status == 200 and f"已答复提问 {number}" in page
                assert f'action="/console/faq/{number}/save"' in page
                assert f'id="question-{number}"' not in page  # no longer queued
    row = await _question(sessionmaker, world.county.id, number)
    assert (row.status, row.answer) == (questions.STAFF_ANSWERED, STAFF_ANSWER)
    assert row.answered_by == world.people["county0"].id
    async with sessionmaker() as s:
        assert await s.scalar(
            sa.select(Audit.id).where(
                Audit.action == "faq.answer", Audit.object == f"question:{row.id}"
            )
        )


async def test_saving_as_faq_then_chat_answers_from_the_entry(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    sec_code = await _code(sessionmaker, clock, world.people["sec0"])
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as sec:
            assert "绑定成功" in (await sec.bind(sec_code))[0]["text"]
            number, browser = await _answer_round(sessionmaker, clock, world, server, sec)
            async with browser:
                csrf = await browser.csrf()
                resp = await browser.post(f"/console/faq/{number}/save", {"csrf": csrf})
                assert resp.status == 303
                row = await _question(sessionmaker, world.county.id, number)
                assert row.faq_id == f"Q{row.id}"
                status, page = await browser.get(resp.headers["Location"])
                assert status == 200 and f"存为问答 Q{row.id}" in page
                again = await browser.post(f"/console/faq/{number}/save", {"csrf": csrf})
                assert again.status == 409  # saved already: said, nothing doubled
            reply = await sec.send(UNKNOWN)
            assert STAFF_ANSWER in reply[0]["text"] and "县级工作人员答复" in reply[0]["text"]


async def test_another_countys_question_number_is_404_like_unknown(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    away = await add_county(sessionmaker, clock.now())
    await _queue(sessionmaker, clock, world.people["sec0"], world.county.id, 1)
    async with sessionmaker() as s, s.begin():
        for _ in range(5):  # the other county's numbers start further on
            await counters.next_number(s, away.county.id, Series.QUESTION)
    await _queue(sessionmaker, clock, away.people["sec"], away.county.id, 1, start=100)
    foreign = await _question(sessionmaker, away.county.id, 6)
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
            csrf = await browser.csrf()
            pages = {}
            for n in (6, 999, "x"):
                for action, data in (("answer", {"answer": "不知道"}), ("save", {})):
                    async with browser.http.post(
                        server.url(f"/console/faq/{n}/{action}"),
                        data={"csrf": csrf, **data},
                        allow_redirects=False,
                    ) as resp:
                        assert resp.status == 404, (n, action)
                        pages[n, action] = await resp.text()
            for action in ("answer", "save"):  # the same words as for an unknown number
                assert "没有本县的提问 6，" in pages[6, action]
                assert "没有本县的提问 999，" in pages[999, action]
            assert "第100个问题" not in pages[6, "answer"]
    after = await _question(sessionmaker, away.county.id, 6)
    assert (after.status, after.answer, after.faq_id) == (questions.PENDING, None, None)
    assert after.id == foreign.id
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


async def test_console_faq_posts_refuse_missing_csrf(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    await _queue(sessionmaker, clock, world.people["sec0"], world.county.id, 1)
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
            for data in ({"answer": "不知道"}, {"answer": "不知道", "csrf": "forged"}):
                resp = await browser.post("/console/faq/1/answer", data)
                assert resp.status == 403
                resp = await browser.post("/console/faq/1/save", data)
                assert resp.status == 403
    row = await _question(sessionmaker, world.county.id, 1)
    assert (row.status, row.answer) == (questions.PENDING, None)
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        refusals = await s.scalars(
            sa.select(Audit.object).where(Audit.action == audit_refusals.ACTION)
        )
        assert sorted(refusals) == ["/console/faq/1/answer"] * 2 + ["/console/faq/1/save"] * 2
