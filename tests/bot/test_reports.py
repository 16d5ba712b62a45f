"""Ledgers from the visit records: XLSX checked cell by cell, CSV, the CLI and the chat link."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from PIL import Image

from bot.app import create_app
from bot.cli import build_parser
from bot.commands.reports import cmd_report_visits
from bot.config import load_config
from bot.ledger_tasks import TASKS
from bot.reports import export_visits
from bot.web.signed import media_key, photo_url
from services.media import save_image_sync, save_voice_sync
from storage import tasks as task_store
from storage.models import Audit
from tests.bot.web.jobs_kit import client_export
from tests.chat import ChatDriver
from tests.conftest import SHANGHAI
from tests.factories import add_household, bind, make_world

H = 4  # the header row of every sheet: two title rows and a blank row above it


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        v0, v2 = w.villages[0].id, w.villages[2].id
        await add_household(s, v0, "HH0001", "王三女", "监测户", clock.now())
        await add_household(s, v0, "HH0002", "李桂芳", "脱贫户", clock.now())
        await add_household(s, v2, "HH2001", "钱多多", "未脱贫户", clock.now())
    for key in ("sec0", "sec2", "county0", "town0"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


async def record_month(chat: ChatDriver, clock, rules) -> None:
    """Two visits in 石门村 and one in 杏花村 on 10 November; one of them finds a problem."""
    await chat.photo("sec0", save_image_sync(rules.media_dir, png((9, 9, 9))).to_dict())
    await chat.send("sec0", "走访 王三女 饮水正常 房子屋顶漏雨 老人身体还行")
    await chat.press("sec0", "visit:confirm")
    clock.advance(hours=2)
    await chat.send("sec0", "走访 李桂芳 医保已交")
    await chat.press("sec0", "visit:confirm")
    await chat.send("sec2", "走访 钱多多 住房安全")
    await chat.press("sec2", "visit:confirm")


async def test_xlsx_ledger_cell_by_cell(sessionmaker, world, clock, rules, tmp_path):
    chat = ChatDriver(sessionmaker, clock, rules)
    await record_month(chat, clock, rules)
    out = tmp_path / "ledger.xlsx"
    async with sessionmaker() as s:
        result = await export_visits(s, world.townships[0].id, "2026-11", rules, out)
    assert (result.visits, result.problems, result.villages) == (2, 1, 2)  # 东岭镇 only

    wb = load_workbook(out)
    assert wb.sheetnames == ["走访台账", "问题清单", "覆盖率", "任务完成情况汇总", "任务完成情况表"]
    ws = wb["走访台账"]
    assert ws["A1"].value == "示范县/东岭镇 2026-11 走访台账"
    assert ws.freeze_panes == "A5"  # title (2 rows), a blank row, the header
    assert ws.column_dimensions["A"].width == 17
    header = [c.value for c in ws[H]]
    assert header[:10] == [
        "走访时间", "乡镇", "村", "户编号", "户主", "户类别", "家庭人口", "帮扶责任人", "联系电话",
        "走访人",
    ]  # fmt: skip
    assert header[10:19] == [
        "饮水安全", "义务教育", "基本医疗", "住房安全", "收入吃穿", "就业", "产业", "小额信贷",
        "社会保障",
    ]  # fmt: skip
    assert header[19:] == [
        "备注", "照片数", "照片1", "照片2", "照片3", "纬度", "经度", "位置核实", "语音",
    ]  # fmt: skip
    assert ws[H][0].font.bold
    first = [c.value for c in ws[H + 1]]
    assert first[0] == datetime(2026, 11, 10, 10, 0)  # local time, not UTC
    assert ws[f"A{H + 1}"].number_format == "yyyy-mm-dd hh:mm"
    assert first[1:6] == ["东岭镇", "石门村", "HH0001", "王三女", "监测户"]
    assert first[9] == "书记0"
    assert first[10] == "正常"
    assert first[11] == "未查看"
    assert first[13] == "有问题：房子屋顶漏雨"
    assert first[19] == "饮水正常 房子屋顶漏雨 老人身体还行"  # the note: the text as typed
    assert first[20] == 1  # the photo sent just before the report
    assert first[21:] == [None] * 7  # no links without a signer; no location; no voice
    second = [c.value for c in ws[H + 2]]
    assert second[0] == datetime(2026, 11, 10, 12, 0)
    assert second[4] == "李桂芳" and second[12] == "正常" and second[20] == 0
    assert ws[H + 3][0].value == "合计"
    assert ws.max_row == H + 3

    ps = wb["问题清单"]
    assert [c.value for c in ps[H]] == [
        "问题编号", "乡镇", "村", "户编号", "户主", "家庭人口", "帮扶责任人", "联系电话", "问题类别",
        "问题描述", "发现时间", "整改期限", "状态", "整改完成时间", "语音",
    ]  # fmt: skip
    row = [c.value for c in ps[H + 1]]
    assert row[1:5] == ["东岭镇", "石门村", "HH0001", "王三女"]
    assert row[8:10] == ["住房安全", "房子屋顶漏雨"]
    assert row[10] == datetime(2026, 11, 10, 10, 0)
    assert row[11] == datetime(2026, 11, 25, 0, 0) and ps[f"L{H + 1}"].number_format == "yyyy-mm-dd"
    assert row[12:] == ["整改中", None, None]

    cs = wb["覆盖率"]
    assert [c.value for c in cs[H]][:5] == ["乡镇", "村", "应访户数", "达标户数", "户覆盖率"]
    shimen = [c.value for c in cs[H + 1]]
    assert shimen == ["东岭镇", "石门村", 2, 1, 0.5, 4, 2, 0.5]
    assert cs[f"E{H + 1}"].number_format == "0.0%"
    assert [c.value for c in cs[H + 2]] == ["东岭镇", "柳树村", 0, 0, 1.0, 0, 0, 1.0]
    assert [c.value for c in cs[H + 3]] == ["合计", None, 2, 1, 0.5, 4, 2, 0.5]


async def test_csv_ledgers_are_written_next_to_each_other(
    sessionmaker, world, clock, rules, tmp_path
):
    chat = ChatDriver(sessionmaker, clock, rules)
    await record_month(chat, clock, rules)
    out = tmp_path / "nov.csv"
    async with sessionmaker() as s:
        result = await export_visits(s, world.county.id, "2026-11", rules, out)
    assert [p.name for p in result.paths] == [
        "nov.csv", "nov_问题清单.csv", "nov_覆盖率.csv", "nov_任务完成情况汇总.csv",
        "nov_任务完成情况表.csv",
    ]  # fmt: skip
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Chinese CSV correctly
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "走访时间" and len(rows) == 5 and rows[4][0] == "合计"
    assert rows[1][:5] == ["2026-11-10 10:00", "东岭镇", "石门村", "HH0001", "王三女"]
    assert rows[3][2:5] == ["杏花村", "HH2001", "钱多多"]
    problems = list(csv.reader(result.paths[1].open(encoding="utf-8-sig")))
    assert problems[1][10:13] == ["2026-11-10 10:00", "2026-11-25", "整改中"]
    coverage = list(csv.reader(result.paths[2].open(encoding="utf-8-sig")))
    assert coverage[1] == ["东岭镇", "石门村", "2", "1", "50.0%", "4", "2", "50.0%"]


async def test_revoked_visits_are_left_out_of_the_ledger(
    sessionmaker, world, clock, rules, tmp_path
):
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.send("sec0", "走访 王三女 饮水正常")
    await chat.press("sec0", "visit:confirm")
    [visit_reply] = await chat.send("sec0", "撤销")
    await chat.press("sec0", visit_reply.buttons[0].payload)
    async with sessionmaker() as s:
        result = await export_visits(s, world.county.id, "2026-11", rules, tmp_path / "x.xlsx")
    assert result.visits == 0


async def test_cli_report_visits_writes_the_file(
    sessionmaker, world, clock, rules, tmp_path, database_url, capsys
):
    chat = ChatDriver(sessionmaker, clock, rules)
    await record_month(chat, clock, rules)
    out = tmp_path / "cli.xlsx"
    args = build_parser().parse_args(
        ["report", "visits", "--month", "2026-11", "--region", "示范县", "--out", str(out)]
    )
    config = load_config(database_url=database_url, var_dir=tmp_path / "var")
    assert await cmd_report_visits(config, args) == 0
    assert "走访 3 条, 问题 1 条, 村 4 个" in capsys.readouterr().out
    assert load_workbook(out)["走访台账"].max_row == H + 4  # three visits and 合计
    bad = build_parser().parse_args(
        ["report", "visits", "--month", "2026-13", "--region", "示范县", "--out", str(out)]
    )
    assert await cmd_report_visits(config, bad) == 2


async def test_staff_export_from_chat_lands_on_the_console_and_only_they_download_it(
    sessionmaker, world, clock, rules, tmp_path, database_url
):
    config = load_config(
        database_url=database_url, var_dir=tmp_path / "var", public_url="http://cunbot.test"
    )
    app = create_app(config, clock=clock, auto_upgrade=False, run_workers=False)
    async with TestClient(TestServer(app, port=0)) as client:
        chat = ChatDriver(sessionmaker, clock, replace(rules, public_url="http://cunbot.test"))
        await record_month(chat, clock, rules)
        [reply] = await chat.send("town0", "导出 2026-11")
        assert reply.link and reply.link.startswith("http://cunbot.test/console/login?to=")
        assert dict(parse_qsl(urlsplit(reply.link).query))["to"] == "/console/exports?month=2026-11"
        status, body = await client_export(
            client, sessionmaker, world.people["town0"], clock.now(), "2026-11"
        )
        assert status == 200
        wb = load_workbook(io.BytesIO(body))
        assert wb["走访台账"].max_row == H + 3  # 东岭镇's two visits and 合计, not 西川乡's
        # The county is outside a township officer's scope: refused, no file made.
        status, _ = await client_export(
            client, sessionmaker, world.people["town0"], clock.now(), "2026-11", world.county.id
        )
        assert status == 403


async def test_export_month_argument_is_checked(sessionmaker, world, clock, rules):
    chat = ChatDriver(sessionmaker, clock, rules)
    assert "月份格式不对" in "".join(r.text for r in await chat.send("county0", "导出 2026-13"))
    [ok] = await chat.send("county0", "导出")
    assert ok.link and "month%3D2026-11" in ok.link and "2026-11" in ok.text


def test_month_is_the_local_month_not_the_utc_one():
    from datetime import UTC

    from storage.visits import month_of

    assert month_of(datetime(2026, 11, 30, 15, 59, tzinfo=UTC), SHANGHAI) == "2026-11"
    assert month_of(datetime(2026, 11, 30, 16, 0, tzinfo=UTC), SHANGHAI) == "2026-12"


async def test_task_completion_sheet_lists_every_village_status(
    sessionmaker, clock, rules, tmp_path
):
    """Six villages, one task: each share in another state, and the 合计 row counts them."""
    world = await make_world(sessionmaker, clock.now(), townships=3, villages_per_township=2)
    county0, now = world.people["county0"], clock.now()
    v = [village.id for village in world.villages]
    sec = [world.people[f"sec{i}"].id for i in range(6)]
    async with sessionmaker() as s, s.begin():
        task, items = await task_store.create_task(
            s, kind="task", title="核对低保名单 13800001234", created_by=county0.id,
            county_id=world.county.id, village_ids=v, now=now,
            deadline=datetime(2026, 11, 20, 18, tzinfo=SHANGHAI),
        )  # fmt: skip
        notice, _ = await task_store.create_task(
            s, kind="notice", title="冬季防火", created_by=county0.id,
            county_id=world.county.id, village_ids=v[:1], now=now,
        )  # fmt: skip
        share = {i.village_id: i.id for i in items}
        for i in (1, 2, 3, 4, 5):
            await task_store.ack(s, share[v[i]], sec[i], now + timedelta(hours=1))
        for i in (2, 3, 4, 5):
            await task_store.submit(
                s, share[v[i]], sec[i], now + timedelta(hours=2), texts=["x"], photos=[]
            )
        await task_store.approve(
            s, share[v[3]], county0.id, world.county.id, now + timedelta(hours=3)
        )
        for i, due in (
            (4, datetime(2026, 11, 25, 18, tzinfo=SHANGHAI)),
            (5, now + timedelta(days=1)),
        ):
            await task_store.return_(
                s, share[v[i]], county0.id, world.county.id, now + timedelta(hours=3),
                reason="照片不清楚", deadline=due,
            )  # fmt: skip
    clock.advance(days=2)  # 河湾村's new deadline has passed: 逾期
    out = tmp_path / "tasks.xlsx"
    async with sessionmaker() as s:
        result = await export_visits(s, world.county.id, "2026-11", rules, out, now=clock.now())
    assert result.tasks == 7
    ws = load_workbook(out)["任务完成情况表"]
    assert ws["A1"].value == "示范县 2026-11 任务完成情况表"
    assert ws.freeze_panes == "A5"
    assert [c.value for c in ws[H]][: len(TASKS.headers)] == list(TASKS.headers)
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=H + 1, max_col=len(TASKS.headers))]
    body = rows[:-1]
    total = [c.value for c in ws[ws.max_row]]
    by_village = {r[7]: r for r in body if r[0] == task.id}
    names = [village.name for village in world.villages]
    assert [by_village[n][8] for n in names] == ["未读", "收到", "已提交", "已通过", "退回", "逾期"]
    first = by_village[names[0]]
    assert first[1:6] == [
        "任务",
        "核对低保名单 138****1234",
        "县干部0",
        datetime(2026, 11, 10, 10),
        datetime(2026, 11, 20, 18),
    ]
    assert first[6] == "东岭镇" and first[9:] == [None] * 5
    approved = by_village[names[3]]
    assert approved[9:13] == [
        datetime(2026, 11, 10, 11),
        datetime(2026, 11, 10, 12),
        "县干部0",
        datetime(2026, 11, 10, 13),
    ]
    assert by_village[names[4]][11] == "县干部0" and by_village[names[4]][13] == "照片不清楚"
    assert [r[1:3] for r in body if r[0] == notice.id] == [["通知", "冬季防火"]]
    assert total == [
        "合计", "任务数", 2, "村次", 7, "未读", 2, "收到", 1, "已提交", 1, "已通过", 1, "退回", 1,
        "逾期", 1,
    ]  # fmt: skip
    assert ws[f"A{ws.max_row}"].font.bold


async def test_signed_photo_link_expires(sessionmaker, world, clock, rules, tmp_path, database_url):
    config = load_config(
        database_url=database_url, var_dir=tmp_path / "var", media_dir=rules.media_dir,
        public_url="http://cunbot.test", photo_link_hours=72,
    )  # fmt: skip
    app = create_app(config, clock=clock, auto_upgrade=False, run_workers=False)
    async with TestClient(TestServer(app, port=0)) as client:
        link = await _ledger_photo_link(sessionmaker, clock, rules, app, client, world)
        photo = await client.get(f"{link.path}?{link.query}")  # no chat cookie: the link alone
        assert photo.status == 200 and (await photo.read()).startswith(b"\x89PNG")
        clock.advance(hours=71)
        assert (await client.get(f"{link.path}?{link.query}")).status == 200
        clock.advance(hours=2)
        expired = await client.get(f"{link.path}?{link.query}")
        assert expired.status == 403 and "已过期" in await expired.text()
    async with sessionmaker() as s:
        reasons = [
            a.detail["reason"]
            for a in await s.scalars(sa.select(Audit).where(Audit.action == "refused"))
        ]
    assert reasons == ["link_expired"]


async def test_tampered_photo_link_is_refused(
    sessionmaker, world, clock, rules, tmp_path, database_url
):
    config = load_config(
        database_url=database_url, var_dir=tmp_path / "var", media_dir=rules.media_dir,
        public_url="http://cunbot.test",
    )  # fmt: skip
    app = create_app(config, clock=clock, auto_upgrade=False, run_workers=False)
    async with TestClient(TestServer(app, port=0)) as client:
        link = await _ledger_photo_link(sessionmaker, clock, rules, app, client, world)
        query = dict(parse_qsl(link.query))
        town0, sec2 = world.people["town0"].id, world.people["sec2"].id
        forged = [
            {**query, "u": str(sec2)},  # another person named in a signed link
            {**query, "e": str(int(query["e"]) + 86400)},  # a longer life
            {**query, "s": query["s"][:-1] + ("0" if query["s"][-1] != "0" else "1")},
            {**query, "s": "x" * 40},
            {**query, "u": "abc"},
            {k: v for k, v in query.items() if k != "s"},
            {**query, "e": "9" * 400},
        ]
        for q in forged:
            r = await client.get(f"{link.path}?{urlencode(q)}")
            assert r.status == 403, q
        # The same signature on another photo's path, and no signature at all.
        assert (await client.get(f"/media/zz/other.png?{link.query}")).status == 403
        assert (await client.get(link.path)).status == 403
        # A correctly signed link for a person who may not see the photo: 404, like no photo.
        key = media_key(config.secret_key())
        path = link.path.removeprefix("/media/")
        theirs = urlsplit(photo_url(key, "", path, sec2, clock.now(), timedelta(hours=1)))
        assert (await client.get(f"{theirs.path}?{theirs.query}")).status == 404
    async with sessionmaker() as s:
        refused = list(await s.scalars(sa.select(Audit).where(Audit.action == "refused")))
    assert len(refused) == len(forged) + 2  # the bare path is a browser without a cookie
    assert {a.detail["reason"] for a in refused} == {"link_tampered", "forbidden"}
    assert town0 not in {a.person_id for a in refused}


async def _ledger_photo_link(sessionmaker, clock, rules, app, client, world):
    """town0 exports 东岭镇's ledger from the console; the 照片1 link of 王三女's visit."""
    chat = ChatDriver(sessionmaker, clock, rules)
    await record_month(chat, clock, rules)
    status, body = await client_export(
        client, sessionmaker, world.people["town0"], clock.now(), "2026-11"
    )
    assert status == 200
    ws = load_workbook(io.BytesIO(body))["走访台账"]
    header = [c.value for c in ws[H]]
    cell = ws.cell(row=H + 1, column=header.index("照片1") + 1)
    assert cell.value == "查看" and cell.hyperlink is not None
    assert ws.cell(row=H + 1, column=header.index("照片2") + 1).hyperlink is None
    link = urlsplit(cell.hyperlink.target)
    assert link.netloc == "cunbot.test" and link.path.startswith("/media/")
    return link


async def test_voice_note_of_a_visit_is_linked_in_the_ledger(
    sessionmaker, world, clock, rules, tmp_path
):
    """A voice note sent on the visit card is saved with the visit, linked in the 语音 column
    (not counted in 照片数)."""
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.send("sec0", "走访 王三女 饮水正常 老人身体还行")
    voice = save_voice_sync(rules.media_dir, b"#!AMR\n" + bytes(300)).to_dict()
    got = await chat.inbound.receive(chat.incoming("sec0", kind="voice", photo=voice))
    assert got and "已收到语音" in got[0].text
    await chat.press("sec0", "visit:confirm")
    out = tmp_path / "ledger.xlsx"
    async with sessionmaker() as s:
        await export_visits(
            s, world.villages[0].id, "2026-11", rules, out, photo_link=lambda p: f"http://x/{p}"
        )
    ws = load_workbook(out)["走访台账"]
    header = [c.value for c in ws[H]]
    row = [c for c in ws[H + 1]]
    cell = row[header.index("语音")]
    assert cell.value == "播放" and cell.hyperlink.target == f"http://x/{voice['path']}"
    assert row[header.index("照片数")].value == 0
