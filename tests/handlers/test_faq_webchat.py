"""The county staff queue round trip over the real web chat (aiohttp server, WebSocket
browsers): a secretary's unknown question reaches county staff, the answer is pushed live to
the secretary, and once saved as an FAQ entry the same question is answered at once."""

from __future__ import annotations

from storage import people, regions
from tests.factories import make_world
from tests.webclient import webchat_server

UNKNOWN = "村里的光伏电站收益怎么分配给村民"
STAFF_ANSWER = "按村集体经济收益分配方案，经村民代表大会通过并公示后发放。"


async def _code(sessionmaker, clock, person) -> str:
    async with sessionmaker() as s, s.begin():
        invite = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=clock.now(), person_id=person.id
        )
    return invite.code


async def test_unknown_question_goes_to_staff_and_the_answer_is_pushed_live(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    sec_code = await _code(sessionmaker, clock, world.people["sec0"])
    staff_code = await _code(sessionmaker, clock, world.people["county0"])
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as sec, server.client() as staff:
            assert "绑定成功" in (await sec.bind(sec_code))[0]["text"]
            assert "绑定成功" in (await staff.bind(staff_code))[0]["text"]

            answered = await sec.send("请问低保渐退多长时间？")
            assert "1年" in answered[0]["text"] and "来源" in answered[0]["text"]
            assert [b["label"] for b in answered[0]["buttons"]] == ["有用", "没用"]

            handed = await sec.say(UNKNOWN)
            assert "已转给县里" in handed
            qid = handed.split("提问 ")[1].split("）")[0]
            assert qid == "1"  # the FAQ answer before took no number

            queue = await staff.say("待答问题")
            assert f"提问 {qid}" in queue and UNKNOWN in queue

            assert "已答复" in await staff.say(f"答复 {qid} {STAFF_ANSWER}")
            server.wake_delivery()
            push = await sec.next_push(timeout=15)
            assert STAFF_ANSWER in push["text"] and UNKNOWN in push["text"]

            assert "已存为问答 Q" in await staff.say(f"存为问答 {qid}")
            again = await sec.send(UNKNOWN)
            assert STAFF_ANSWER in again[0]["text"]
            assert "县级工作人员答复" in again[0]["text"]


async def test_county_answer_is_not_given_in_another_county(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        other = await regions.add(s, "county", "邻县")
        town = await regions.add(s, "township", "邻乡", other.id)
        village = await regions.add(s, "village", "邻村", town.id)
        outsider = await people.add(
            s, name="邻县书记", role="secretary", region_id=village.id, now=clock.now()
        )
    sec_code = await _code(sessionmaker, clock, world.people["sec0"])
    staff_code = await _code(sessionmaker, clock, world.people["county0"])
    outsider_code = await _code(sessionmaker, clock, outsider)
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as sec, server.client() as staff, server.client() as far:
            for client, code in ((sec, sec_code), (staff, staff_code), (far, outsider_code)):
                assert "绑定成功" in (await client.bind(code))[0]["text"]
            handed = await sec.say(UNKNOWN)
            qid = handed.split("提问 ")[1].split("）")[0]
            assert "已答复" in await staff.say(f"答复 {qid} {STAFF_ANSWER}")
            saved = await staff.say(f"存为问答 {qid}")
            entry = saved.split("已存为问答 ")[1].split("，")[0].split("。")[0].split("（")[0]

            # The same county: answered from its own entry.
            assert STAFF_ANSWER in (await sec.send(UNKNOWN))[0]["text"]
            # Another county: neither answered from it nor offered it as a suggestion.
            [reply] = await far.send(UNKNOWN)
            assert STAFF_ANSWER not in reply["text"]
            assert all(f":{entry}" not in b["payload"] for b in reply.get("buttons", []))
            # A forged pick of that entry is refused like a stale button.
            asked = await far.send("问 明天天气怎么样")
            assert "已转给县里" in asked[0]["text"]
            far_qid = asked[0]["text"].split("提问 ")[1].split("）")[0]
            [forged] = await far.press(f"faq:pick:{far_qid}:{entry}")
            assert "失效" in forged["text"] and STAFF_ANSWER not in forged["text"]
