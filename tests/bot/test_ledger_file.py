"""The ledger a county can file: a title block, household size, helper and masked phone, 合计
rows, the 覆盖率 sheet from the digest's figures, no formula from a user's text, and a
secretary's own village ledger from chat."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from bot.app import create_app
from bot.config import load_config
from bot.reports import export_visits
from storage.models import Household
from tasks.digest import village_standing
from tests.bot.web.jobs_kit import client_export
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world

H = 4  # header row: two title rows and a blank row above it


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        v0, v2 = w.villages[0].id, w.villages[2].id
        h = await add_household(
            s, v0, "HH0001", "王三女", "监测户", clock.now(), members=5, phone="13812345678"
        )
        h.helper_name = "张帮扶"
        await add_household(s, v0, "HH0002", "李桂芳", "脱贫户", clock.now(), members=2)
        await add_household(s, v2, "HH2001", "钱多多", "未脱贫户", clock.now())
    for key in ("sec0", "sec2", "county0"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


def rows(ws) -> list[list]:
    return [[c.value for c in r] for r in ws.iter_rows()]


async def export(sessionmaker, region_id, rules, tmp_path, **kw):
    out = tmp_path / "ledger.xlsx"
    async with sessionmaker() as s:
        result = await export_visits(s, region_id, "2026-11", rules, out, **kw)
    return result, load_workbook(out)


@pytest.mark.parametrize("note", ["=1+1", "+1+2", "-2+3", "@A1", '=HYPERLINK("x")'])
async def test_note_starting_with_equals_is_text_in_xlsx(
    sessionmaker, world, clock, rules, tmp_path, note
):
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.send("sec0", f"走访 李桂芳 {note} 医保已交")
    await chat.press("sec0", "visit:confirm")
    _, wb = await export(sessionmaker, world.villages[0].id, rules, tmp_path)
    ws = wb["走访台账"]
    col = [c.value for c in ws[H]].index("备注")
    cell = ws[H + 1][col]
    # The note is the user's text exactly (it starts with the formula-like part): text, not a
    # formula.
    assert cell.data_type == "s" and cell.value == f"{note} 医保已交"


async def test_ledger_has_title_block_and_totals(sessionmaker, world, clock, rules, tmp_path):
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.send("sec0", "走访 王三女 房子屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    clock.advance(hours=1)
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    await chat.send("sec2", "走访 钱多多 住房安全")
    await chat.press("sec2", "visit:confirm")
    now = clock.now()
    result, wb = await export(
        sessionmaker, world.county.id, rules, tmp_path, now=now, prepared_by="县干部0"
    )
    assert (result.visits, result.households, result.problems) == (3, 2, 1)
    made = f"{now.astimezone(rules.timezone):%Y-%m-%d %H:%M}"  # the configured time zone
    for name in ("走访台账", "问题清单", "覆盖率"):
        ws = wb[name]
        assert ws["A1"].value == f"示范县 2026-11 {name}"
        assert ws["A1"].font.bold
        assert ws["A2"].value == f"制表时间：{made}　制表人：县干部0"
        assert ws.freeze_panes == f"A{H + 1}"
        assert ws[H][0].font.bold
    visits = rows(wb["走访台账"])
    assert len(visits) == H + 4
    assert visits[-1][:9] == ["合计", "走访户数", 2, "走访次数", 3, "问题数", 1, "整改中", 1]
    assert visits[-1][9:11] == ["已整改", 0]
    problems = rows(wb["问题清单"])
    assert problems[-1][:7] == ["合计", "问题数", 1, "整改中", 1, "已整改", 0]
    assert wb["走访台账"].column_dimensions["I"].width == 14  # 联系电话
    # Without a person (the CLI) the title says when, not who.
    _, wb = await export(sessionmaker, world.villages[0].id, rules, tmp_path)
    assert wb["走访台账"]["A1"].value == "示范县/东岭镇/石门村 2026-11 走访台账"
    assert "制表人" not in wb["走访台账"]["A2"].value


async def test_ledger_lists_household_size_helper_and_masked_phone(
    sessionmaker, world, clock, rules, tmp_path
):
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.send("sec0", "走访 王三女 房子屋顶漏雨")
    await chat.press("sec0", "visit:confirm")
    await chat.send("sec0", "走访 李桂芳 医保已交")
    await chat.press("sec0", "visit:confirm")
    async with sessionmaker() as s, s.begin():
        # A helper linked as a person (no name typed on the household) is named too.
        h = (await s.scalars(sa.select(Household).where(Household.code == "HH0002"))).one()
        h.helper_id = world.people["sec0"].id
    _, wb = await export(sessionmaker, world.villages[0].id, rules, tmp_path)
    visits = rows(wb["走访台账"])
    header = visits[H - 1]
    at = header.index("家庭人口")
    assert header[at : at + 3] == ["家庭人口", "帮扶责任人", "联系电话"]
    assert visits[H][at : at + 3] == [5, "张帮扶", "138****5678"]
    assert visits[H + 1][at : at + 3] == [2, "书记0", None]
    problems = rows(wb["问题清单"])
    at = problems[H - 1].index("家庭人口")
    assert problems[H][at : at + 3] == [5, "张帮扶", "138****5678"]
    text = "\n".join(str(v) for ws in wb.worksheets for r in rows(ws) for v in r)
    assert "13812345678" not in text


async def test_coverage_sheet_matches_the_digest_figures(
    sessionmaker, world, clock, rules, tmp_path
):
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    await chat.send("sec2", "走访 钱多多 住房安全")
    await chat.press("sec2", "visit:confirm")
    _, wb = await export(sessionmaker, world.county.id, rules, tmp_path)
    sheet = rows(wb["覆盖率"])
    assert sheet[H - 1] == [
        "乡镇", "村", "应访户数", "达标户数", "户覆盖率", "应访次数", "已访次数", "次数完成率",
    ]  # fmt: skip
    by_village = {r[1]: r for r in sheet[H:-1]}
    async with sessionmaker() as s:
        standing = await village_standing(s, [v.id for v in world.villages], "2026-11", rules)
    assert standing  # the digest has villages with households due
    names = {v.id: v.name for v in world.villages}
    for vid, st in standing.items():
        c = st.coverage
        row = by_village[names[vid]]
        assert row[2:7] == [c.households_due, c.households_met, c.share, c.visits_required,
                            c.visits_done]  # fmt: skip
        assert round(row[4] * 100, 1) == round(c.percent, 1)
    total = sheet[-1]
    assert total[0] == "合计"
    assert total[2] == sum(st.coverage.households_due for st in standing.values())
    assert total[3] == sum(st.coverage.households_met for st in standing.values())
    assert total[4] == total[3] / total[2]
    assert wb["覆盖率"][f"E{len(sheet)}"].number_format == "0.0%"


async def _app(sessionmaker, clock, rules, tmp_path, database_url):
    config = load_config(
        database_url=database_url, var_dir=tmp_path / "var", public_url="http://cunbot.test"
    )
    return config, create_app(config, clock=clock, auto_upgrade=False, run_workers=False)


async def test_secretary_exports_own_village_ledger(
    sessionmaker, world, clock, rules, tmp_path, database_url
):
    _, app = await _app(sessionmaker, clock, rules, tmp_path, database_url)
    async with TestClient(TestServer(app, port=0)) as client:
        chat = ChatDriver(sessionmaker, clock, rules)
        await chat.send("sec0", "走访 王三女 饮水正常")
        await chat.press("sec0", "visit:confirm")
        await chat.send("sec2", "走访 钱多多 住房安全")
        await chat.press("sec2", "visit:confirm")
        [reply] = await chat.send("sec0", "导出 2026-11")
        assert "不能使用" not in reply.text and "石门村" in reply.text
        assert reply.link and "/console/login?" in reply.link
        status, body = await client_export(
            client, sessionmaker, world.people["sec0"], clock.now(), "2026-11"
        )
        assert status == 200
        wb = load_workbook(io.BytesIO(body))
        visits = rows(wb["走访台账"])
        assert visits[0][0] == "示范县/东岭镇/石门村 2026-11 走访台账"
        assert visits[1][0].endswith("制表人：书记0")
        assert [r[4] for r in visits[H:-1]] == ["王三女"]  # 石门村's visit, not 杏花村's


async def test_secretary_cannot_export_another_village(
    sessionmaker, world, clock, rules, tmp_path, database_url
):
    _, app = await _app(sessionmaker, clock, rules, tmp_path, database_url)
    sec0 = world.people["sec0"]
    async with TestClient(TestServer(app, port=0)) as client:
        for region in (world.villages[2].id, world.townships[0].id, world.county.id):
            status, page = await client_export(
                client, sessionmaker, sec0, clock.now(), "2026-11", region
            )
            assert status == 403
            assert "无权" in page.decode()
        status, _ = await client_export(
            client, sessionmaker, sec0, clock.now(), "2026-11", world.villages[0].id
        )
        assert status == 200


def test_title_time_is_local_wall_clock():
    from bot.ledger_writers import Title

    t = Title("示范县 2026-11 走访台账", datetime(2026, 12, 2, 10, 51))
    assert t.lines() == ["示范县 2026-11 走访台账", "制表时间：2026-12-02 10:51"]
