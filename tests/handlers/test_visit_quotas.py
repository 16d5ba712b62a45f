"""Quota rules as configuration: visits count once a day toward a household's monthly quota
(or each visit, when configured), and the quota follows the household's category and its
county's, township's or village's own numbers. Every reader (本月走访, the digest's coverage,
the 覆盖率 ledger) applies the same rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.reports import export_visits
from core.rules import Rules, VisitCount
from services import quotas
from storage.models import Audit
from storage.readmodels import coverage
from tests.chat import ChatDriver
from tests.conftest import SHANGHAI
from tests.factories import add_household, bind, make_world

QUOTAS = {
    "未脱贫户": 3,
    "监测户": 4,
    "脱贫不稳定户": 3,
    "边缘易致贫户": 3,
    "脱贫户": 1,
    "一般户": 0,
}


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    now = clock.now()
    async with sessionmaker() as s, s.begin():
        v0, v1 = w.villages[0].id, w.villages[1].id
        await add_household(s, v0, "Q0001", "王三女", "监测户", now)
        await add_household(s, v0, "Q0002", "李桂芳", "脱贫不稳定户", now)
        await add_household(s, v0, "Q0003", "张大山", "一般户", now)
        await add_household(s, v0, "Q0004", "刘小红", "脱贫户", now)
        await add_household(s, v1, "Q1001", "赵德明", "监测户", now)
    for key in ("sec0", "sec1", "town0"):
        await bind(sessionmaker, w.people[key], "test", key, now)
    return w


def configured(rules: Rules, count: VisitCount = VisitCount.DAY) -> Rules:
    return replace(rules, visit_quotas=QUOTAS, visit_count=count)


def driver(sessionmaker, clock, rules: Rules, count: VisitCount = VisitCount.DAY) -> ChatDriver:
    return ChatDriver(sessionmaker, clock, configured(rules, count))


async def visit(chat: ChatDriver, clock, who: str, name: str, at: datetime) -> None:
    clock.set(at)
    await chat.send(who, f"走访 {name} 饮水正常 孩子上学 医保已交 住房安全 收入稳定")
    saved = "\n".join(r.text for r in await chat.press(who, "visit:confirm"))
    assert "已保存" in saved, saved


async def ledger_coverage(sessionmaker, region_id: int, rules: Rules, tmp_path: Path) -> list:
    out = tmp_path / "ledger.xlsx"
    async with sessionmaker() as s:
        await export_visits(s, region_id, "2026-11", rules, out)
    rows = list(load_workbook(out)["覆盖率"].iter_rows(values_only=True))
    return [r for r in rows if r and r[1] == "石门村"]


async def test_two_visits_same_day_count_once_toward_quota(
    sessionmaker, clock, rules, world, tmp_path
):
    chat = driver(sessionmaker, clock, rules)
    await visit(chat, clock, "sec0", "王三女", datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI))
    await visit(chat, clock, "sec0", "王三女", datetime(2026, 11, 10, 16, 30, tzinfo=SHANGHAI))
    progress = await chat.say("sec0", "本月走访")
    assert "王三女（Q0001，监测户）已访 1/4" in progress
    # The digest's and the ledger's coverage read the same rule: 1 of 4 visits done.
    policy = configured(rules).quota_policy
    async with sessionmaker() as s:
        [cov] = await coverage.coverage_by_village(s, [world.villages[0].id], "2026-11", policy)
    assert cov.visits_done == 1
    [(_, _, due, met, _, required, done, _)] = await ledger_coverage(
        sessionmaker, world.villages[0].id, configured(rules), tmp_path
    )
    assert (due, met, required, done) == (3, 0, 8, 1)

    # The next day counts again.
    await visit(chat, clock, "sec0", "王三女", datetime(2026, 11, 11, 8, 0, tzinfo=SHANGHAI))
    assert "王三女（Q0001，监测户）已访 2/4" in await chat.say("sec0", "本月走访")

    # Configured to count each visit, the same three visits count three times.
    per_visit = driver(sessionmaker, clock, rules, VisitCount.VISIT)
    assert "王三女（Q0001，监测户）已访 3/4" in await per_visit.say("sec0", "本月走访")


async def test_quota_follows_household_category(sessionmaker, clock, rules, world, tmp_path):
    chat = driver(sessionmaker, clock, rules)
    shown = await chat.say("sec0", "本月走访")
    assert "王三女（Q0001，监测户）已访 0/4" in shown
    assert "李桂芳（Q0002，脱贫不稳定户）已访 0/3" in shown
    assert "刘小红（Q0004，脱贫户）已访 0/1" in shown
    assert "张大山" not in shown  # 一般户: no quota
    assert "达标 0/3 户（0%），走访 0/8 次" in shown

    # The township sets 监测户 to 2, and 石门村 its own 脱贫户 to 2: nearest region wins.
    now = clock.now()
    async with sessionmaker() as s, s.begin():
        await quotas.set_quota(s, world.townships[0].id, "监测户", 2, now=now)
        change = await quotas.set_quota(s, world.villages[0].id, "脱贫户", 2, now=now)
    assert (change.before, change.after) == (None, 2)
    shown = await chat.say("sec0", "本月走访")
    assert "王三女（Q0001，监测户）已访 0/2" in shown
    assert "刘小红（Q0004，脱贫户）已访 0/2" in shown
    assert "李桂芳（Q0002，脱贫不稳定户）已访 0/3" in shown
    assert "赵德明（Q1001，监测户）已访 0/2" in await chat.say("sec1", "本月走访")

    # A village's own number beats its township's; clearing it falls back.
    async with sessionmaker() as s, s.begin():
        await quotas.set_quota(s, world.villages[1].id, "监测户", 5, now=now)
    assert "赵德明（Q1001，监测户）已访 0/5" in await chat.say("sec1", "本月走访")
    async with sessionmaker() as s, s.begin():
        await quotas.set_quota(s, world.villages[1].id, "监测户", None, now=now)
    assert "赵德明（Q1001，监测户）已访 0/2" in await chat.say("sec1", "本月走访")

    # The township's view, the ledger and the audit agree.
    assert "石门村：0/3 户（0%）" in await chat.say("town0", "本月走访")
    [(_, _, due, _, _, required, _, _)] = await ledger_coverage(
        sessionmaker, world.villages[0].id, configured(rules), tmp_path
    )
    assert (due, required) == (3, 2 + 3 + 2)
    async with sessionmaker() as s:
        audits = list(
            await s.scalars(sa.select(Audit).where(Audit.action.like("quota.%")).order_by(Audit.id))
        )
        lines = await quotas.quotas_of(s, world.villages[0].id, QUOTAS)
    assert [a.action for a in audits] == ["quota.set", "quota.set", "quota.set", "quota.clear"]
    assert audits[-1].detail == {"category": "监测户", "before": 5, "after": None}
    by_category = {line.category: (line.per_month, line.source) for line in lines}
    assert by_category["监测户"] == (2, "东岭镇") and by_category["脱贫户"] == (2, "石门村")
    assert by_category["一般户"] == (0, "")


async def test_unknown_category_or_number_out_of_range_is_refused(sessionmaker, clock, world):
    from core.errors import Invalid

    async with sessionmaker() as s:
        with pytest.raises(Invalid, match="户类型"):
            await quotas.set_quota(s, world.villages[0].id, "富裕户", 2, now=clock.now())
        with pytest.raises(Invalid, match="0 到 31"):
            await quotas.set_quota(s, world.villages[0].id, "监测户", 40, now=clock.now())


def test_quota_settings_are_read_and_checked(monkeypatch, tmp_path):
    from bot.config import ConfigError, load_config

    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("CUNBOT_VISIT_QUOTAS", '{"监测户": 4, "一般户": 0}')
    monkeypatch.setenv("CUNBOT_VISIT_COUNT", "visit")
    policy = load_config().rules.quota_policy
    assert dict(policy.defaults) == {"监测户": 4, "一般户": 0}
    assert policy.count == VisitCount.VISIT
    monkeypatch.setenv("CUNBOT_VISIT_COUNT", "week")
    with pytest.raises(ConfigError, match=r"^配置错误 CUNBOT_VISIT_COUNT: "):
        load_config()
    monkeypatch.delenv("CUNBOT_VISIT_COUNT")
    monkeypatch.setenv("CUNBOT_VISIT_QUOTAS", '{"监测戶": 4}')  # a typo would count as no quota
    with pytest.raises(ConfigError, match=r"^配置错误 CUNBOT_VISIT_QUOTAS: .*监测户"):
        load_config()
