"""A voice note sent while 整改完成 waits for its photo is kept with the problem (not as its
proof: the photo is still asked for), linked in the 问题清单 ledger, and only the problem's own
village may attach one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.ledger_writers import Link
from bot.reports import PROBLEMS, problem_rows
from core.errors import NotFound, Refused
from handlers import visit_texts as HT
from services import rectify
from services.media import save_image_sync, save_voice_sync
from storage import people
from storage import photos as photo_store
from storage.models import Audit, Photo, Problem
from tests.chat import ChatDriver
from tests.conftest import SHANGHAI
from tests.factories import add_household, bind, make_world, photo_bytes
from tests.fakes.harness import amr_bytes


async def _problem(sessionmaker, clock, rules) -> tuple[ChatDriver, Problem, int]:
    """王三女's problem found on a visit by sec0 (石门村): the chat, the problem, the village."""
    world = await make_world(sessionmaker, clock.now())
    v0 = world.villages[0].id
    async with sessionmaker() as s, s.begin():
        await add_household(s, v0, "HH0001", "王三女", "监测户", clock.now())
    for key in ("sec0", "sec1", "town0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    async with sessionmaker() as s:
        (problem,) = (await s.scalars(sa.select(Problem))).all()
    return chat, problem, v0


async def _voice(chat: ChatDriver, rules, tag: bytes, sender: str = "sec0") -> str:
    stored = save_voice_sync(rules.media_dir, amr_bytes(tag)).to_dict()
    got = await chat.inbound.receive(chat.incoming(sender, kind="voice", photo=stored))
    return "\n".join(r.text for r in got or [])


async def _voices(sessionmaker) -> list[Photo]:
    async with sessionmaker() as s:
        return list(await s.scalars(sa.select(Photo).where(Photo.kind == "voice")))


async def test_voice_during_rectification_is_kept_and_the_photo_still_asked(
    sessionmaker, clock, rules
):
    chat, problem, v0 = await _problem(sessionmaker, clock, rules)
    ref = f"问题 {problem.number}"
    assert "整改后的照片" in await chat.say("sec0", f"整改完成 {problem.number}")
    got = await _voice(chat, rules, b"a")
    assert got == HT.RECTIFY_VOICE_GOT.format(ref=ref, n=1)
    assert "请再发送整改后的照片" in got
    # The same recording again (another message, the same bytes): stored and linked once.
    assert await _voice(chat, rules, b"a") == HT.RECTIFY_VOICE_SEEN
    assert "（共 2 段语音）" in await _voice(chat, rules, b"b")
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(Problem.status)) == "open"  # a voice is no proof
    assert await chat.say("sec0", "好了") == HT.RECTIFY_WAITING
    image = save_image_sync(rules.media_dir, photo_bytes((10, 90, 10))).to_dict()
    assert "等待乡镇或县里复核" in "\n".join(r.text for r in await chat.photo("sec0", image))
    voices = await _voices(sessionmaker)
    assert [(v.problem_id, v.assignment_id, v.visit_id) for v in voices] == [
        (problem.id, None, None)
    ] * 2
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(Problem.status)) == "review"
        actions = list(await s.scalars(sa.select(Audit.action).where(
            Audit.object == f"problem:{problem.id}"
        )))  # fmt: skip
        rows = await problem_rows(
            s, [v0], "2026-11", SHANGHAI, photo_link=lambda p: f"http://x/{p}"
        )
    assert actions.count("problem.voice") == 2 and actions.count("problem.fixed") == 1
    cell = rows[0][PROBLEMS.headers.index("语音")]
    assert cell == Link("播放（共 2 条）", f"http://x/{voices[0].path}")


async def test_voice_outside_the_flow_still_asks_which_household(sessionmaker, clock, rules):
    chat, _problem_row, _v0 = await _problem(sessionmaker, clock, rules)
    assert "这是哪一户的走访语音" in await _voice(chat, rules, b"c")
    assert [v.problem_id for v in await _voices(sessionmaker)] == [None]


async def test_only_the_problems_village_may_attach_a_voice(sessionmaker, clock, rules):
    """Another village's secretary is answered as for an unknown problem; township staff may
    not attach (they review); nothing is linked either way."""
    _chat, problem, _v0 = await _problem(sessionmaker, clock, rules)
    stored = save_voice_sync(rules.media_dir, amr_bytes(b"d")).to_dict()
    async with sessionmaker() as s, s.begin():
        sec1 = await people.by_identity(s, "test", "sec1")
        town0 = await people.by_identity(s, "test", "town0")
        assert sec1 is not None and town0 is not None
        for who in (sec1, town0):
            voice_id, _ = await photo_store.add_photo(
                s, stored, uploaded_by=who.id, now=clock.now(), taken_at=None
            )
            with pytest.raises(NotFound if who is sec1 else Refused):
                await rectify.attach_voice(s, who, problem.id, voice_id, now=clock.now())
    assert [v.problem_id for v in await _voices(sessionmaker)] == [None]
