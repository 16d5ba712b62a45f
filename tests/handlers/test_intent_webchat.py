"""Free text that is no command (issue 13, item 1), over the real web chat: a visit report
without 走访 gets the same card, a typed 收到 acknowledges the push it answers, and names,
receipts with nothing to answer and fragments are never forwarded to the county."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from storage import people
from storage.models import Assignment, Audit, Conversation, OutboxMessage, Question, Visit
from tests.factories import add_household, make_world
from tests.webclient import webchat_server

REPORT = "今天去了唐勇家，吃水没问题，医保交了，房子有点裂缝"
STALE = "这个按钮已失效"


async def _setup(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        v0, v1 = world.villages[0].id, world.villages[1].id
        hh = {
            "唐勇": (await add_household(s, v0, "HH0002", "唐勇", "监测户", clock.now())).id,
            "王三女": (await add_household(s, v0, "HH0001", "王三女", "脱贫户", clock.now())).id,
            "赵德明": (await add_household(s, v1, "HH1001", "赵德明", "监测户", clock.now())).id,
        }
        codes = {}
        for key in ("sec0", "county0"):
            p = world.people[key]
            invite = await people.create_invite(
                s, role=p.role, region_id=p.region_id, now=clock.now(), person_id=p.id
            )
            codes[key] = invite.code
    return world, hh, codes


async def _count(sessionmaker, model, *where) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(sa.select(sa.func.count()).select_from(model).where(*where)))


def labels(frames) -> list[str]:
    return [b["label"] for f in frames for b in f.get("buttons", [])]


def payloads(frames) -> list[str]:
    return [b["payload"] for f in frames for b in f.get("buttons", [])]


def text(frames) -> str:
    return "\n".join(f.get("text", "") for f in frames)


async def test_free_text_visit_report_gets_the_confirm_card(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world, hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as sec:
            await sec.bind(codes["sec0"])
            typed = await sec.send("走访 HH0002 " + REPORT)
            assert labels(typed) == ["确认", "修改"]
            assert "已取消" in await sec.say("取消")

            card = await sec.send(REPORT)
            assert labels(card) == ["确认", "修改"]
            # The same card as 走访 <户编号> <情况>: household, checks and the note.
            assert text(card) == text(typed)
            assert "唐勇" in text(card) and "饮水安全：正常" in text(card)
            saved = await sec.press(payloads(card)[0], "确认")
            assert "已保存" in text(saved) or "已记录" in text(saved)
    async with sessionmaker() as s:
        (visit,) = (await s.scalars(sa.select(Visit))).all()
    assert visit.household_id == hh["唐勇"] and visit.checklist["water"]["status"] == "ok"
    assert await _count(sessionmaker, Question) == 0


async def test_a_name_with_a_checks_character_is_read_as_the_household_only(
    engine, sessionmaker, database_url, tmp_path, clock
):
    """叶水生 has 水: the card says nothing of water, in free text and after 走访."""
    world, _hh, codes = await _setup(sessionmaker, clock)
    async with sessionmaker() as s, s.begin():
        await add_household(s, world.villages[0].id, "HH0041", "叶水生", "脱贫户", clock.now())
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as sec:
            await sec.bind(codes["sec0"])
            for message in (
                "叶水生家看病挺方便，医保交了",
                "走访 HH0041 叶水生家看病挺方便，医保交了",
            ):
                card = await sec.send(message)
                assert labels(card) == ["确认", "修改"], text(card)
                assert "户主：叶水生" in text(card)
                assert "饮水安全：未查看" in text(card) and "基本医疗：正常" in text(card)
                assert "已取消" in await sec.say("取消")
    assert await _count(sessionmaker, Question) == 0


async def test_typed_shou_dao_acknowledges_the_latest_task_push(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world, _hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as staff, server.client() as sec:
            await staff.bind(codes["county0"])
            await sec.bind(codes["sec0"])
            assert "给 1 个村" in await staff.dispatch(
                "发任务 核查饮水安全 / 截止 3天内 / 范围 石门村"
            )
            server.wake_delivery()
            push = await sec.next_push(timeout=15)
            aid = int(push["buttons"][0]["payload"].rsplit(":", 1)[1])
            for _ in range(250):  # the worker marks the row sent just after pushing
                if await _count(sessionmaker, OutboxMessage, OutboxMessage.status == "sent"):
                    break
                await asyncio.sleep(0.02)

            acked = await sec.say("收到")
            assert "已确认收到「核查饮水安全」" in acked
    async with sessionmaker() as s:
        assert (await s.get(Assignment, aid)).status == "acked"
        row = await s.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == f"task:{aid}")
        )
        assert row.acked_at is not None
        actions = list(await s.scalars(sa.select(Audit.action)))
    assert "task.ack" in actions
    assert await _count(sessionmaker, Question) == 0


async def test_bare_household_name_is_not_queued_for_the_county(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world, hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as staff, server.client() as sec:
            await staff.bind(codes["county0"])
            await sec.bind(codes["sec0"])
            reply = await sec.send("唐勇")
            assert labels(reply) == ["走访 唐勇", "问题"]
            assert "已转给县里" not in text(reply)
            for fragment in ("忽略 34", "你好", "唐勇家"):
                assert "已转给县里" not in await sec.say(fragment)
            assert "目前没有待答问题" in await staff.say("待答问题")
            # The first button starts the guided visit of that household.
            started = await sec.press(payloads(reply)[0], "走访 唐勇")
            assert "饮水安全" in text(started) and "正常" in labels(started)
    assert await _count(sessionmaker, Question) == 0
    async with sessionmaker() as s:
        state = await s.get(Conversation, world.people["sec0"].id)
    assert state.flow == "visit" and state.data["hh"] == hh["唐勇"]


async def test_ok_without_a_push_is_not_a_question(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world, _hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as sec:
            await sec.bind(codes["sec0"])
            for word in ("好的", "收到", "已阅", "👌"):
                said = await sec.say(word)
                assert "没有需要确认收到" in said and "转给县里" not in said
    assert await _count(sessionmaker, Question) == 0


async def test_unsure_intent_asks_with_buttons(engine, sessionmaker, database_url, tmp_path, clock):
    world, hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as sec:
            await sec.bind(codes["sec0"])
            asked = await sec.send("唐勇家今天去了")
            assert "这是唐勇的走访记录吗" in text(asked) and labels(asked) == ["是", "不是"]
            card = await sec.press(payloads(asked)[0], "是")
            assert labels(card) == ["确认", "修改"] and "唐勇" in text(card)
            assert "已取消" in await sec.say("取消")

            again = await sec.send("唐勇家今天去了")
            no = await sec.send("不是")  # typing the label presses it
            assert "没有记录" in text(no)
            assert payloads(again)[1].startswith("intent:ans:")
    assert await _count(sessionmaker, Question) == 0 and await _count(sessionmaker, Visit) == 0
    assert await _count(sessionmaker, Conversation) == 0


async def test_forged_intent_button_is_refused(engine, sessionmaker, database_url, tmp_path, clock):
    world, hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as sec:
            await sec.bind(codes["sec0"])
            # No question pending: an answer button is stale.
            assert STALE in text(await sec.press("intent:ans:12345:yes", "是"))
            asked = await sec.send("唐勇家今天去了")
            real = payloads(asked)[0]
            ask = int(real.split(":")[2])
            forged = f"intent:ans:{ask % 2_000_000_000 + 1}:yes"
            assert STALE in text(await sec.press(forged, "是"))
            # Another village's household, an unknown command, a malformed payload.
            assert STALE in text(await sec.press(f"intent:visit:{hh['赵德明']}", "走访"))
            assert STALE in text(await sec.press("intent:cmd:dropall", "帮助"))
            assert STALE in text(await sec.press("intent:pick:1:x", "是"))
            # The real question still stands and still works.
            card = await sec.press(real, "是")
            assert labels(card) == ["确认", "修改"]
    async with sessionmaker() as s:
        refused = list(await s.scalars(sa.select(Audit).where(Audit.action == "refused")))
    assert len(refused) >= 5
    assert await _count(sessionmaker, Visit) == 0


async def test_statements_are_not_questions_and_questions_without_ma_are(
    engine, sessionmaker, database_url, tmp_path, clock
):
    """Question words in a statement (几户都, 没啥) send nothing to the county; a question
    naming a household that ends in 不 goes to the FAQ, not to a visit card."""
    world, hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as sec:
            await sec.bind(codes["sec0"])
            news = await sec.send("今天全村低保都发下来了")
            assert "没有看懂" in text(news) and "走访" in labels(news), text(news)
            # A report of checks with no household: asked about, nothing queued.
            done = await sec.send("村里危房改造的几户都完工了")
            assert "这是走访记录吗" in text(done), text(done)
            assert "已取消" in await sec.say("取消")
            assert await _count(sessionmaker, Question) == 0

            # 没啥变化 is a verdict on the visit, not a question: the card to confirm.
            seen = await sec.send("唐勇家去看了看，跟上个月一样，没啥变化")
            assert labels(seen) == ["确认", "修改"] and "户主：唐勇" in text(seen), text(seen)
            assert "已取消" in await sec.say("取消")

            asked = await sec.send("唐勇家老人八十多了，有高龄补贴不")
            assert "确认" not in labels(asked) and "这是" not in text(asked), text(asked)
    async with sessionmaker() as s:
        (question,) = (await s.scalars(sa.select(Question))).all()
    assert question.text == "唐勇家老人八十多了，有高龄补贴不"
    assert await _count(sessionmaker, Visit) == 0


async def test_a_question_in_no_policy_words_is_asked_about_when_the_faq_knows_it(
    engine, sessionmaker, database_url, tmp_path, clock
):
    """The FAQ ranker is the second witness: a question naming a household in none of the
    policy words is asked about when the FAQ finds it like an entry (the water standard),
    and answered with help when not (a phone number); nothing is queued either way."""
    world, hh, codes = await _setup(sessionmaker, clock)
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as sec:
            await sec.bind(codes["sec0"])
            asked = await sec.send("唐勇家喝的水一天要多少升才够")
            assert "这是要问的政策问题吗" in text(asked) and labels(asked) == ["是", "不是"]
            assert await _count(sessionmaker, Question) == 0
            helped = await sec.send("唐勇家电话多少")
            assert "没有看懂" in text(helped), text(helped)
            assert await _count(sessionmaker, Question) == 0
            # 是 sends the first question to the FAQ (the pending one was dropped by the
            # second message, so ask it again).
            again = await sec.send("唐勇家喝的水一天要多少升才够")
            await sec.press(payloads(again)[0], "是")
    async with sessionmaker() as s:
        (question,) = (await s.scalars(sa.select(Question))).all()
    assert question.text == "唐勇家喝的水一天要多少升才够"
