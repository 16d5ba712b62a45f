"""A channel outage trips the circuit breaker: sending pauses and probes one row at a time,
no attempt is spent, and nothing dies of an outage shorter than 24 hours."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bot.channels.wecom.api import WeComApi
from bot.channels.wecom.sender import WeComSender
from bot.channels.wecom.settings import WeComSettings
from core.channel import SendResult
from services.media_store.local import LocalStore
from tasks.delivery import MAX_AGE, Delivery
from tests.factories import bind, make_world
from tests.fakes.wecom_api import FakeWeComApi
from tests.tasks.test_delivery import FakeSender, _enqueue, _rows, _world

CORP, SECRET = "wwcorp", "s3cret"


async def _drain(delivery: Delivery) -> None:
    while await delivery.run_once():
        pass


async def test_wecom_down_for_15_minutes_no_push_dies_all_arrive_after(
    sessionmaker, clock, rules, tmp_path
):
    world = await make_world(sessionmaker, clock.now())
    for i in range(2):
        await bind(sessionmaker, world.people[f"sec{i}"], "wecom", f"u{i}", clock.now())
    api = FakeWeComApi(CORP, SECRET)
    base = await api.start()
    port = api.server.port
    await api.close()  # WeCom is unreachable from here on
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 8, prefix="a")
    await _enqueue(sessionmaker, clock, world.people["sec1"].id, 4, prefix="b")
    settings = WeComSettings(corp_id=CORP, agent_id=7, secret=SecretStr(SECRET), api_base=base)
    back = FakeWeComApi(CORP, SECRET)
    back.server = TestServer(back.server.app, host="127.0.0.1", port=port)
    async with aiohttp.ClientSession() as http:
        sender = WeComSender(WeComApi(settings, http), 7, LocalStore(tmp_path), None)
        delivery = Delivery(sessionmaker, clock, rules, {"wecom": sender})
        end = clock.now() + timedelta(minutes=15)
        while clock.now() < end:
            await _drain(delivery)
            clock.advance(seconds=20)
        rows = await _rows(sessionmaker)
        assert {r.status for r in rows.values()} == {"pending"}  # 0 dead
        assert all(r.attempts == 0 for r in rows.values())  # the outage spent no attempt
        assert delivery.gates.breaker.is_open("wecom")
        await back.start()  # WeCom answers again
        try:
            for _ in range(30):  # at most 10 minutes more
                await _drain(delivery)
                clock.advance(seconds=20)
        finally:
            await back.close()
    rows = await _rows(sessionmaker)
    assert {r.status for r in rows.values()} == {"sent"}
    assert not delivery.gates.breaker.is_open("wecom")
    assert sorted(back.texts_to("u0")) == sorted(f"a{i}" for i in range(8))
    assert len(back.texts_to("u1")) == 4


class DownSender(FakeSender):
    """Counts every try, then fails the way an unreachable far side does."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.tries = 0

    async def send(self, external_id, body, outbox_id=None):
        self.tries += 1
        return SendResult(ok=False, unavailable=True, error="wecom 502")


async def test_breaker_probes_one_row_at_a_time(sessionmaker, clock, rules, caplog):
    world = await _world(sessionmaker, clock)
    sender = DownSender(clock)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 20)
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    await delivery.run_once()  # the first batch finds the channel down
    first = sender.tries
    tries = []
    for _ in range(60):  # ten minutes
        clock.advance(seconds=10)
        before = sender.tries
        await delivery.run_once()
        tries.append(sender.tries - before)
    assert first == 20 and max(tries) == 1  # after the first batch: one probe at a time
    assert 4 <= sum(tries) <= 15  # probes back off (15 s doubling to 2 min), never stop
    assert delivery.gates.breaker.is_open("fake")
    rows = await _rows(sessionmaker)
    assert {r.status for r in rows.values()} == {"pending"}
    assert all(r.attempts == 0 for r in rows.values())
    logged = caplog.text
    assert "breaker open channel=fake" in logged and "breaker probing channel=fake" in logged


async def test_per_message_failure_still_dies_after_max_attempts(sessionmaker, clock, rules):
    """An outage first (no attempt spent), then the far side refuses this message each time."""
    world = await _world(sessionmaker, clock)
    sender = FakeSender(clock, raises=TimeoutError())
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1)
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    for _ in range(10):
        await delivery.run_once()
        clock.advance(minutes=3)
    assert (await _rows(sessionmaker))["m:0"].attempts == 0
    sender.raises = None
    sender.results = [SendResult(ok=False, error="wecom errcode=40008 invalid message type")] * 50
    for _ in range(40):
        await delivery.run_once()
        clock.advance(hours=1)
    row = (await _rows(sessionmaker))["m:0"]
    assert row.status == "dead" and row.attempts == rules.delivery_max_attempts
    assert "40008" in row.last_error


async def test_a_row_held_by_an_outage_for_over_24_hours_is_dead(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    sender = FakeSender(clock, raises=ConnectionRefusedError("down"))
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1, prefix="old")
    clock.advance(seconds=MAX_AGE.total_seconds() - 3600)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1, prefix="young")
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    for _ in range(40):
        await delivery.run_once()
        clock.advance(minutes=2)
    rows = await _rows(sessionmaker)
    assert rows["old:0"].status == "dead" and rows["young:0"].status == "pending"
    assert rows["young:0"].attempts == 0


async def test_reply_path_waits_while_the_breaker_is_open_and_leaves_the_probe(
    sessionmaker, clock, rules
):
    world = await _world(sessionmaker, clock)
    sender = DownSender(clock)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 3)
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    await delivery.run_once()
    gates = delivery.gates
    assert await gates.reserve(sender, "ext0", clock.now()) >= timedelta(seconds=2)
    clock.advance(minutes=1)  # the retry is due: a reply still waits, the worker probes
    assert await gates.reserve(sender, "ext0", clock.now()) > timedelta(0)
    before = sender.tries
    await delivery.run_once()
    assert sender.tries == before + 1
