"""问答条目 in the console: browse, view, add, edit, retire and restore FAQ entries; 忽略 and
合并到已有问答 on the question queue. Entries of another county are 404 like unknown ones,
shared entries are read-only, township staff only read, secretaries are refused; a change made
in the console is what the chat answers next, in this process and in another one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa

from services import audit_refusals
from storage import faq as faq_store
from storage import questions
from storage.faq import FaqDTO
from storage.models import Audit, Faq, OutboxMessage
from tests import faqkit
from tests.bot.web.console_kit import Browser
from tests.bot.web.test_console_faq import _code, _question, _queue
from tests.factories import World, add_county, make_world
from tests.webclient import webchat_server

SHARED_Q, OWN_Q, AWAY_Q = "省里的低保申请怎么办理", "本县自来水入户补贴标准", "邻县秘密补贴标准"
ASKED = "村里的光伏电站收益怎么分配给村民"
FIRST, SECOND = (
    "按村光伏收益分配方案，经村民代表大会通过后发放。",
    "光伏收益先用于公益岗位工资，余下按户分配。",
)


@dataclass
class Site:
    world: World
    away: World


def _entries(site: Site, extra: int = 0) -> list[FaqDTO]:
    own = site.world.county.id
    found = [
        FaqDTO("S001", SHARED_Q, "共享答案", source="省民政厅文件", reviewed_on=date(2026, 10, 1)),
        FaqDTO(
            "OWN1",
            OWN_Q,
            "本县答案一",
            variants=("自来水补贴多少钱",),
            source="县水利局通知",
            reviewed_on=date(2026, 9, 1),
            county_id=own,
        ),
        FaqDTO("AWAY1", AWAY_Q, "邻县答案", source="邻县文件", county_id=site.away.county.id),
    ]
    found += [
        FaqDTO(f"N{i:02d}", f"本县第{i}个问题", f"答案{i}", source="县文件", county_id=own)
        for i in range(extra)
    ]
    return found


@pytest.fixture
async def site(sessionmaker, clock) -> Site:
    """Two counties and a small FAQ of their own (the shipped one is then not loaded)."""
    s = Site(
        await make_world(sessionmaker, clock.now()), await add_county(sessionmaker, clock.now())
    )
    async with sessionmaker() as session, session.begin():
        await faq_store.seed(session, _entries(s, extra=22), clock.now())
    return s


async def _entry(sessionmaker, faq_id: str) -> FaqDTO | None:
    async with sessionmaker() as s:
        return await faq_store.get(s, faq_id)


async def _actions(sessionmaker, action: str) -> list[tuple[str, dict]]:
    async with sessionmaker() as s:
        rows = await s.execute(
            sa.select(Audit.object, Audit.detail).where(Audit.action == action).order_by(Audit.id)
        )
        return [(o, d) for o, d in rows]


def _fields(csrf: str, **over: str) -> dict[str, str]:
    fields = {
        "csrf": csrf,
        "question": "新问题：村级公益岗位工资多少",
        "answer": "每月800元，按月发放。",
        "source": "县人社局通知",
        "reviewed": "2026-11-01",
        "variants": "公益岗工资多少\n\n公益岗位一个月多少钱\n公益岗工资多少",
    }
    return {**fields, **over}


async def test_browse_lists_own_and_shared_entries_paged_and_never_another_countys(
    site, sessionmaker, database_url, tmp_path, clock
):
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, site.world.people["county0"], clock.now())
            status, first = await browser.get("/console/faq/entries")
            assert status == 200
            assert "第 1 / 2 页，共 24 条" in first  # 23 own + 1 shared, never 邻县's
            assert 'id="entry-N00"' in first and 'id="entry-S001"' not in first  # own first
            assert AWAY_Q not in first and 'id="add-entry"' in first
            _, second = await browser.get("/console/faq/entries?page=2")
            assert 'id="entry-OWN1"' in second and "县水利局通知" in second
            assert "2026-09-01" in second and 'id="entry-N00"' not in second
            assert 'id="entry-S001"' in second and "上级共享（只读）" in second
            _, found = await browser.get("/console/faq/entries?q=自来水")
            assert 'id="entry-OWN1"' in found and "共 1 条" in found
            _, by_source = await browser.get("/console/faq/entries?q=民政厅")
            assert 'id="entry-S001"' in by_source and "共 1 条" in by_source
            _, shared = await browser.get("/console/faq/entries?scope=shared")
            assert 'id="entry-S001"' in shared and "共 1 条" in shared
            _, own = await browser.get("/console/faq/entries?scope=own&q=秘密")
            assert "共 0 条" in own and AWAY_Q not in own  # another county's: not even by search
            _, percent = await browser.get("/console/faq/entries?q=%25")
            assert "共 0 条" in percent  # LIKE wildcards are searched as text
            _, retired = await browser.get("/console/faq/entries?state=retired")
            assert "共 0 条" in retired
            for bad in ("scope=mine", "state=gone", "page=0", "q=" + "字" * 51):
                status, page = await browser.get(f"/console/faq/entries?{bad}")
                assert status == 400, bad
            status, page = await browser.get("/console/faq/entries/S001")
            assert status == 200 and "省民政厅文件" in page and "2026-10-01" in page
            assert 'id="read-only"' in page and 'id="edit-entry"' not in page
            status, page = await browser.get("/console/faq/entries/OWN1")
            assert status == 200 and "自来水补贴多少钱" in page and 'id="edit-entry"' in page
        async with Browser(server.base_url) as officer:
            await officer.sign_in(sessionmaker, site.world.people["town0"], clock.now())
            status, page = await officer.get("/console/faq/entries?q=自来水")
            assert status == 200 and 'id="entry-OWN1"' in page and 'id="add-entry"' not in page
            status, page = await officer.get("/console/faq/entries/OWN1")
            assert status == 200 and 'id="edit-entry"' not in page


async def test_add_and_edit_check_every_field_and_are_audited(
    site, sessionmaker, database_url, tmp_path, clock
):
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, site.world.people["county0"], clock.now())
            csrf = await browser.csrf()
            status, form = await browser.get("/console/faq/entries/new")
            assert status == 200 and 'value="2026-11-10"' in form  # reviewed: today
            refused = {
                "question": ("字" * 201, "请填写问题（最多 200 字）"),
                "answer": ("  ", "请填写答案（最多 1000 字）"),
                "source": ("源" * 301, "请填写来源"),
                "reviewed": ("2026-11-11", "核对日期请写成"),  # tomorrow
                "variants": ("\n".join(f"问法{i}" for i in range(31)), "例句最多 30 条"),
            }
            for name, (value, words) in refused.items():
                async with browser.http.post(
                    server.url("/console/faq/entries/new"),
                    data=_fields(csrf, **{name: value}),
                    allow_redirects=False,
                ) as resp:
                    page = await resp.text()
                assert resp.status == 400 and words in page, name
                assert ("每月800元" if name == "source" else "县人社局通知") in page  # kept
            for bad_date in ("2026-13-01", "昨天", ""):
                resp = await browser.post(
                    "/console/faq/entries/new", _fields(csrf, reviewed=bad_date)
                )
                assert resp.status == 400
            async with sessionmaker() as s:
                assert await s.scalar(sa.select(sa.func.count()).select_from(Faq)) == 25

            resp = await browser.post("/console/faq/entries/new", _fields(csrf))
            assert resp.status == 303
            where = resp.headers["Location"]
            faq_id = where.split("/entries/")[1].split("?")[0]
            assert faq_id == f"C{site.world.county.id}-1"
            status, page = await browser.get(where)
            assert status == 200 and "已添加问答" in page and "每月800元" in page
            added = await _entry(sessionmaker, faq_id)
            assert added is not None and added.county_id == site.world.county.id
            assert added.variants == (
                "公益岗工资多少",
                "公益岗位一个月多少钱",
            )  # blank, twice: once
            assert added.reviewed_on == date(2026, 11, 1)

            status, form = await browser.get(f"/console/faq/entries/{faq_id}/edit")
            assert status == 200 and "公益岗位一个月多少钱" in form
            too_long = "答" * 1001
            resp = await browser.post(
                f"/console/faq/entries/{faq_id}/edit", _fields(csrf, answer=too_long)
            )
            assert resp.status == 400
            resp = await browser.post(
                f"/console/faq/entries/{faq_id}/edit",
                _fields(csrf, answer="每月1000元。", source="县人社局2026年通知", variants=""),
            )
            assert resp.status == 303 and resp.headers["Location"].endswith("done=edited")
            edited = await _entry(sessionmaker, faq_id)
            assert edited is not None
            assert (edited.answer, edited.source, edited.variants) == (
                "每月1000元。",
                "县人社局2026年通知",
                (),
            )
    assert await _actions(sessionmaker, "faq.add") == [(f"faq:{faq_id}", {})]
    [(obj, detail)] = await _actions(sessionmaker, "faq.edit")
    assert obj == f"faq:{faq_id}"
    assert detail["before"] == {
        "answer": "每月800元，按月发放。",
        "source": "县人社局通知",
        "variants": ["公益岗工资多少", "公益岗位一个月多少钱"],
    }


async def test_retire_asks_for_confirmation_and_can_be_restored(
    site, sessionmaker, database_url, tmp_path, clock
):
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, site.world.people["county0"], clock.now())
            csrf = await browser.csrf()
            _, page = await browser.get("/console/faq/entries/OWN1")
            assert 'href="/console/faq/entries/OWN1/retire"' in page
            status, confirm = await browser.get("/console/faq/entries/OWN1/retire")
            assert status == 200 and "确定停用吗" in confirm and 'id="confirm-retire"' in confirm
            assert (await _entry(sessionmaker, "OWN1")).retired_at is None  # asking changes nothing
            resp = await browser.post("/console/faq/entries/OWN1/retire", {"csrf": csrf})
            assert resp.status == 303
            assert (await _entry(sessionmaker, "OWN1")).retired_at is not None
            _, active = await browser.get("/console/faq/entries?q=自来水")
            assert "共 0 条" in active
            _, retired = await browser.get("/console/faq/entries?q=自来水&state=retired")
            assert 'id="entry-OWN1"' in retired
            status, page = await browser.get("/console/faq/entries/OWN1")
            assert "已停用" in page and 'id="restore-entry"' in page
            again = await browser.post("/console/faq/entries/OWN1/retire", {"csrf": csrf})
            assert again.status == 409
            resp = await browser.post("/console/faq/entries/OWN1/restore", {"csrf": csrf})
            assert resp.status == 303
            assert (await _entry(sessionmaker, "OWN1")).retired_at is None
            again = await browser.post("/console/faq/entries/OWN1/restore", {"csrf": csrf})
            assert again.status == 409
    assert [o for o, _ in await _actions(sessionmaker, "faq.retire")] == ["faq:OWN1"]
    assert [o for o, _ in await _actions(sessionmaker, "faq.restore")] == ["faq:OWN1"]


# Who gets what for each kind of entry id: (read, write). 403: the role may not; 404: not theirs.
MATRIX = {
    "county0": {"OWN1": (200, 200), "S001": (200, 403), "AWAY1": (404, 404), "NOPE": (404, 404)},
    "town0": {"OWN1": (200, 403), "S001": (200, 403), "AWAY1": (404, 403), "NOPE": (404, 403)},
    "sec0": {"OWN1": (403, 403), "S001": (403, 403), "AWAY1": (403, 403), "NOPE": (403, 403)},
    "away": {"OWN1": (404, 404), "S001": (200, 403), "AWAY1": (200, 200), "NOPE": (404, 404)},
}
SECRETS = {"OWN1": ("本县答案一", OWN_Q), "AWAY1": ("邻县答案", AWAY_Q)}


@pytest.mark.parametrize("who", sorted(MATRIX))
async def test_entry_routes_scope_matrix(site, sessionmaker, database_url, tmp_path, clock, who):
    person = site.away.people["county"] if who == "away" else site.world.people[who]
    before = {e.id: await _entry(sessionmaker, e.id) for e in _entries(site)}
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, person, clock.now())
            csrf = await browser.csrf()
            for faq_id, (read, write) in MATRIX[who].items():
                hidden = [w for k, words in SECRETS.items() if k != faq_id for w in words]
                status, page = await browser.get(f"/console/faq/entries/{faq_id}")
                assert status == read, (who, faq_id)
                for suffix in ("edit", "retire"):
                    status, form = await browser.get(f"/console/faq/entries/{faq_id}/{suffix}")
                    assert status == write, (who, faq_id, suffix)
                    if status != 200:
                        assert not any(w in form for w in SECRETS.get(faq_id, ())), form
                for w in hidden:
                    assert w not in page
                if write == 200:
                    continue
                for suffix in ("edit", "retire", "restore"):
                    resp = await browser.post(
                        f"/console/faq/entries/{faq_id}/{suffix}", _fields(csrf, answer="改掉")
                    )
                    assert resp.status == write, (who, faq_id, suffix)
            for raw in ("%3Cscript%3E", "a" * 70, "a.b", "%00"):
                status, page = await browser.get(f"/console/faq/entries/{raw}")
                assert status == (403 if who == "sec0" else 404), raw
            status, _ = await browser.get("/console/faq/entries")
            assert status == (403 if who == "sec0" else 200)
            status, _ = await browser.get("/console/faq/entries/new")
            assert status == (200 if who in ("county0", "away") else 403)
    after = {e.id: await _entry(sessionmaker, e.id) for e in _entries(site)}
    assert after == before  # no refused post changed anything
    async with sessionmaker() as s:
        refusals = await s.scalar(
            sa.select(sa.func.count())
            .select_from(Audit)
            .where(Audit.action == audit_refusals.ACTION, Audit.person_id == person.id)
        )
    assert refusals  # every refusal is audited


async def test_entry_posts_refuse_a_missing_or_forged_csrf_token(
    site, sessionmaker, database_url, tmp_path, clock
):
    await _queue(sessionmaker, clock, site.world.people["sec0"], site.world.county.id, 1)
    before = await _entry(sessionmaker, "OWN1")
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, site.world.people["county0"], clock.now())
            for csrf in ("", "forged"):
                for path in (
                    "/console/faq/entries/new",
                    "/console/faq/entries/OWN1/edit",
                    "/console/faq/entries/OWN1/retire",
                    "/console/faq/entries/OWN1/restore",
                    "/console/faq/1/ignore",
                    "/console/faq/1/merge",
                ):
                    data = {**_fields(csrf), "reason": "测试", "faq_id": "OWN1"}
                    resp = await browser.post(path, data)
                    assert resp.status == 403, path
    assert await _entry(sessionmaker, "OWN1") == before
    row = await _question(sessionmaker, site.world.county.id, 1)
    assert (row.status, row.faq_id) == (questions.PENDING, None)
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Faq)) == 25
        assert await s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
        refused = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "refused")
        )
    assert refused == 12


async def test_ignore_takes_a_question_off_the_queue_with_an_audited_reason(
    site, sessionmaker, database_url, tmp_path, clock
):
    await _queue(sessionmaker, clock, site.world.people["sec0"], site.world.county.id, 2)
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, site.world.people["county0"], clock.now())
            csrf = await browser.csrf()
            _, page = await browser.get("/console/faq")
            assert (
                'action="/console/faq/1/ignore"' in page and 'href="/console/faq/1/merge"' in page
            )
            for reason in ("", "   ", "因" * 201):
                resp = await browser.post("/console/faq/1/ignore", {"csrf": csrf, "reason": reason})
                assert resp.status == 400
            status, page = await browser.get("/console/faq")
            assert 'id="question-1"' in page
            resp = await browser.post(
                "/console/faq/1/ignore", {"csrf": csrf, "reason": "测试消息", "page": "1"}
            )
            assert resp.status == 303
            status, page = await browser.get(resp.headers["Location"])
            assert "已忽略提问 1" in page and 'id="question-1"' not in page
            assert 'id="question-2"' in page and "共 1 条" in page
            again = await browser.post("/console/faq/1/ignore", {"csrf": csrf, "reason": "再次"})
            assert again.status == 409
            foreign = await browser.post("/console/faq/99/ignore", {"csrf": csrf, "reason": "x"})
            assert foreign.status == 404
        async with Browser(server.base_url) as officer:
            await officer.sign_in(sessionmaker, site.world.people["town0"], clock.now())
            resp = await officer.post(
                "/console/faq/2/ignore", {"csrf": await officer.csrf(), "reason": "不管"}
            )
            assert resp.status == 403
    row = await _question(sessionmaker, site.world.county.id, 1)
    assert (row.status, row.answered_by) == (questions.IGNORED, site.world.people["county0"].id)
    assert (await _question(sessionmaker, site.world.county.id, 2)).status == questions.PENDING
    assert await _actions(sessionmaker, "faq.ignore") == [
        (f"question:{row.id}", {"number": 1, "reason": "测试消息"})
    ]
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


async def test_merge_into_a_shared_or_refused_entry(
    site, sessionmaker, database_url, tmp_path, clock
):
    """Shared entry: the asker is answered with it, the entry is not changed. Another
    county's, retired or unknown entry: refused, nothing pushed, the question still queued."""
    await _queue(sessionmaker, clock, site.world.people["sec0"], site.world.county.id, 2)
    async with sessionmaker() as s, s.begin():
        await faq_store.set_retired(s, "N01", clock.now(), clock.now())
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, site.world.people["county0"], clock.now())
            csrf = await browser.csrf()
            status, page = await browser.get("/console/faq/1/merge?q=低保")
            assert status == 200 and "第0个问题" in page and 'id="pick-S001"' in page
            assert 'id="pick-OWN1"' not in page and AWAY_Q not in page
            for faq_id, expected in (("AWAY1", 404), ("NOPE", 404), ("<x>", 404), ("N01", 409)):
                resp = await browser.post("/console/faq/1/merge", {"csrf": csrf, "faq_id": faq_id})
                assert resp.status == expected, faq_id
            resp = await browser.post("/console/faq/1/merge", {"csrf": csrf, "faq_id": "S001"})
            assert resp.status == 303
            status, page = await browser.get(resp.headers["Location"])
            assert "已用问答 S001 答复提问 1" in page and "不能给它加例句" in page
            missing = await browser.post("/console/faq/77/merge", {"csrf": csrf, "faq_id": "S001"})
            assert missing.status == 404
    row = await _question(sessionmaker, site.world.county.id, 1)
    assert (row.status, row.answer, row.faq_id) == (questions.STAFF_ANSWERED, "共享答案", "S001")
    assert (await _entry(sessionmaker, "S001")).variants == ()
    async with sessionmaker() as s:
        bodies = list(await s.scalars(sa.select(OutboxMessage.body)))
    assert len(bodies) == 1 and "共享答案" in str(bodies[0])
    [(obj, detail)] = await _actions(sessionmaker, "faq.merge")
    assert obj == f"question:{row.id}"
    assert detail == {"number": 1, "faq_id": "S001", "alias_added": False}


async def _ask(client, text: str) -> str:
    return await client.say(text)


async def _signed(sessionmaker, clock, server, person) -> Browser:
    browser = Browser(server.base_url)
    await browser.sign_in(sessionmaker, person, clock.now())
    return browser


async def test_console_changes_reach_the_chat_in_this_and_another_process(
    engine, sessionmaker, database_url, tmp_path, clock
):
    """Two app processes on one database (the clock frozen, so only the FAQ's write counter
    tells them apart): entries added, edited, retired and restored in the console of the first
    are what the chat of both answers next."""
    await asyncio.to_thread(faqkit.shipped_index)  # the shipped phrasings' vectors, once
    world = await make_world(sessionmaker, clock.now())
    codes = [await _code(sessionmaker, clock, world.people[k]) for k in ("sec0", "sec1")]
    async with (
        webchat_server(database_url, tmp_path / "a", clock, run_workers=False) as here,
        here.client() as sec_here,
    ):
        # Binding waits for the process's FAQ index (the shipped FAQ, embedded once); the
        # second process starts after it, so it finds the stored vectors.
        assert "绑定成功" in (await sec_here.bind(codes[0]))[0]["text"]
        async with (
            webchat_server(database_url, tmp_path / "b", clock, run_workers=False) as there,
            there.client() as sec_there,
        ):
            assert "绑定成功" in (await sec_there.bind(codes[1]))[0]["text"]
            await _changes_reach_both(sessionmaker, clock, world, here, sec_here, sec_there)


async def _changes_reach_both(sessionmaker, clock, world, here, sec_here, sec_there) -> None:
    if True:
        for sec in (sec_here, sec_there):
            assert "已转给县里" in await _ask(sec, ASKED)
        async with await _signed(sessionmaker, clock, here, world.people["county0"]) as browser:
            csrf = await browser.csrf()
            fields = _fields(csrf, question=ASKED, answer=FIRST, variants="")
            resp = await browser.post("/console/faq/entries/new", fields)
            assert resp.status == 303
            faq_id = resp.headers["Location"].split("/entries/")[1].split("?")[0]
            for sec in (sec_here, sec_there):
                assert FIRST in await _ask(sec, ASKED)
            edited = {**fields, "answer": SECOND}
            resp = await browser.post(f"/console/faq/entries/{faq_id}/edit", edited)
            assert resp.status == 303
            for sec in (sec_there, sec_here):
                reply = await _ask(sec, ASKED)
                assert SECOND in reply and FIRST not in reply
            resp = await browser.post(f"/console/faq/entries/{faq_id}/retire", {"csrf": csrf})
            assert resp.status == 303
            for sec in (sec_here, sec_there):
                reply = await _ask(sec, ASKED)
                assert SECOND not in reply and "已转给县里" in reply
            resp = await browser.post(f"/console/faq/entries/{faq_id}/restore", {"csrf": csrf})
            assert resp.status == 303
            assert SECOND in await _ask(sec_there, ASKED)


async def test_merge_answers_the_asker_and_teaches_the_entry_the_question(
    engine, sessionmaker, database_url, tmp_path, clock
):
    await asyncio.to_thread(faqkit.shipped_index)
    world = await make_world(sessionmaker, clock.now())
    code = await _code(sessionmaker, clock, world.people["sec0"])
    async with webchat_server(database_url, tmp_path, clock) as server, server.client() as sec:
        assert "绑定成功" in (await sec.bind(code))[0]["text"]
        handed = await sec.say(ASKED)
        assert "已转给县里" in handed
        number = int(handed.split("提问 ")[1].split("）")[0])
        async with await _signed(sessionmaker, clock, server, world.people["county0"]) as browser:
            csrf = await browser.csrf()
            fields = _fields(csrf, answer=SECOND, variants="")
            resp = await browser.post("/console/faq/entries/new", fields)
            faq_id = resp.headers["Location"].split("/entries/")[1].split("?")[0]
            status, page = await browser.get(f"/console/faq/{number}/merge?q=公益岗位")
            assert status == 200 and ASKED in page and f'id="pick-{faq_id}"' in page
            resp = await browser.post(
                f"/console/faq/{number}/merge", {"csrf": csrf, "faq_id": faq_id}
            )
            assert resp.status == 303
            status, page = await browser.get(resp.headers["Location"])
            assert f"已用问答 {faq_id} 答复提问 {number}" in page and "已加入该问答的例句" in page
            assert f'id="question-{number}"' not in page
            server.wake_delivery()
            push = await sec.next_push(timeout=15)
            assert SECOND in push["text"] and ASKED in push["text"]
            again = await browser.post(f"/console/faq/{number}/save", {"csrf": csrf})
            assert again.status == 409  # merged: not saved as a second entry
        # The question is now one of the entry's phrasings: the chat answers it from there.
        assert SECOND in await sec.say(ASKED)
    entry = await _entry(sessionmaker, faq_id)
    assert entry is not None and entry.variants == (ASKED,)
    row = await _question(sessionmaker, world.county.id, number)
    assert (row.status, row.faq_id, row.answer) == (questions.STAFF_ANSWERED, faq_id, SECOND)
    assert [d for _, d in await _actions(sessionmaker, "faq.merge")] == [
        {"number": number, "faq_id": faq_id, "alias_added": True}
    ]
    assert len(await _actions(sessionmaker, "faq.answer")) == 1
