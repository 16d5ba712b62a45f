"""Household roster import: CSV and XLSX, idempotent re-import, all-or-nothing on bad rows."""

from __future__ import annotations

import csv

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from bot.household_import import import_file, read_roster
from storage import households
from storage.households import COLUMNS
from storage.models import Household
from tests.factories import make_world

GOOD = [
    ["H001", "王大山", "东岭镇", "石门村", "脱贫户", "4", "书记0", "13812345678"],
    ["H002", "李秀英", "东岭镇", "柳树村", "监测户", "2", "", ""],
    ["H003", "张志强", "西川乡", "杏花村", "风险监测户", "1", "外单位干部", "0571-8888888"],
]


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


def write_csv(path, rows, header=COLUMNS, encoding="utf-8-sig"):
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


async def count(sessionmaker) -> int:
    async with sessionmaker() as s:
        return await s.scalar(sa.select(sa.func.count()).select_from(Household))


async def test_good_csv_imports_every_row_with_helper_linked(sessionmaker, clock, world, tmp_path):
    report = await import_file(sessionmaker, write_csv(tmp_path / "r.csv", GOOD), clock.now())
    assert report.ok and (report.created, report.updated, report.unchanged) == (3, 0, 0)
    async with sessionmaker() as s:
        h1 = await households.get_by_code(s, "H001")
        h3 = await households.get_by_code(s, "H003")
        in_shimen = await households.list_by_village(s, world.villages[0].id)
        assert await households.count_by_village(s, world.villages[0].id) == 1
    assert h1.head_name == "王大山" and h1.members == 4 and h1.category == "脱贫户"
    assert h1.village_id == world.villages[0].id
    assert h1.helper_name == "书记0" and h1.helper_id == world.people["sec0"].id
    assert h3.category == "监测户"  # alias normalised
    assert h3.helper_id is None and h3.phone == "0571-8888888"
    assert [h.code for h in in_shimen] == ["H001"]


async def test_good_xlsx_with_numeric_cells_imports(sessionmaker, clock, world, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    sheet.append([1001, "赵春生", "东岭镇", "石门村", "未脱贫户", 5, None, 13900001111])
    sheet.append(["1002", "钱桂兰", "西川乡", "河湾村", "一般户", 3.0, "书记3", None])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    report = await import_file(sessionmaker, path, clock.now())
    assert report.ok and report.created == 2
    async with sessionmaker() as s:
        h = await households.get_by_code(s, "1001")
        h2 = await households.get_by_code(s, "1002")
    assert h.members == 5 and h.phone == "13900001111" and h.category == "未脱贫户"
    assert h2.members == 3 and h2.village_id == world.villages[3].id


async def test_reimport_updates_in_place_and_is_idempotent(sessionmaker, clock, world, tmp_path):
    path = write_csv(tmp_path / "r.csv", GOOD)
    await import_file(sessionmaker, path, clock.now())
    async with sessionmaker() as s:
        before = await households.get_by_code(s, "H002")
    again = await import_file(sessionmaker, path, clock.now())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = [row[:] for row in GOOD]
    changed[1][4], changed[1][5] = "脱贫户", "3"
    report = await import_file(sessionmaker, write_csv(tmp_path / "r2.csv", changed), clock.now())
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    async with sessionmaker() as s:
        after = await households.get_by_code(s, "H002")
    assert after.id == before.id and after.category == "脱贫户" and after.members == 3
    assert await count(sessionmaker) == 3


async def test_bad_rows_write_nothing_and_each_is_reported(sessionmaker, clock, world, tmp_path):
    await import_file(sessionmaker, write_csv(tmp_path / "ok.csv", GOOD[:1]), clock.now())
    rows = [
        ["H010", "好人家", "东岭镇", "石门村", "脱贫户", "3", "", ""],  # row 2: fine
        ["H011", "甲", "东岭镇", "不存在村", "脱贫户", "3", "", ""],  # 3: unknown village
        ["H012", "乙", "东岭镇", "石门村", "贫困户", "3", "", ""],  # 4: unknown category
        ["H010", "丙", "东岭镇", "石门村", "脱贫户", "3", "", ""],  # 5: duplicate code
        ["H013", "丁", "东岭镇", "石门村", "脱贫户", "三口", "", ""],  # 6: not a number
        ["H014", "戊", "东岭镇", "石门村", "脱贫户", "99", "", ""],  # 7: out of range
        ["H015", "", "东岭镇", "石门村", "脱贫户", "3", "", ""],  # 8: missing head
        ["H016", "己", "东岭镇", "石门村", "脱贫户", "2", "", "abc"],  # 9: bad phone
        ["H001", "改名", "东岭镇", "石门村", "一般户", "2", "", ""],  # 10: would update, fine
    ]
    report = await import_file(sessionmaker, write_csv(tmp_path / "bad.csv", rows), clock.now())
    assert not report.ok
    assert [e.line for e in report.errors] == [3, 4, 5, 6, 7, 8, 9]
    reasons = [str(e) for e in report.errors]
    assert "第 3 行" in reasons[0] and "不存在村" in reasons[0]
    assert "户类型「贫困户」" in reasons[1]
    assert "与第 2 行重复" in reasons[2]
    assert "不是整数" in reasons[3] and "不在 1–30 之间" in reasons[4]
    assert "缺少「户主姓名」" in reasons[5] and "联系电话" in reasons[6]
    assert await count(sessionmaker) == 1
    async with sessionmaker() as s:
        assert (await households.get_by_code(s, "H001")).head_name == "王大山"
        assert await households.get_by_code(s, "H010") is None


async def test_missing_header_columns_are_named(sessionmaker, clock, world, tmp_path):
    path = write_csv(tmp_path / "h.csv", [["H1", "王", "东岭镇", "石门村"]], header=COLUMNS[:4])
    report = await import_file(sessionmaker, path, clock.now())
    assert (
        not report.ok and "户类型" in str(report.errors[0]) and "家庭人口" in str(report.errors[0])
    )


async def test_gbk_csv_from_excel_is_read(sessionmaker, clock, world, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", GOOD, encoding="gb18030")
    report = await import_file(sessionmaker, path, clock.now())
    assert report.ok and report.created == 3


def test_too_many_rows_are_refused_before_anything_is_checked(tmp_path):
    path = write_csv(tmp_path / "big.csv", [GOOD[0]] * 6)
    rows, errors = read_roster(path, max_rows=5)
    assert rows == [] and "超过 5 行" in str(errors[0])


def test_unsupported_file_and_missing_file_are_explained(tmp_path):
    (tmp_path / "r.txt").write_text("x")
    assert "CSV 或 XLSX" in str(read_roster(tmp_path / "r.txt")[1][0])
    assert "找不到文件" in str(read_roster(tmp_path / "nope.csv")[1][0])
    (tmp_path / "fake.xlsx").write_bytes(b"not a zip")
    assert "无法读取" in str(read_roster(tmp_path / "fake.xlsx")[1][0])


async def test_progress_is_reported_every_n_rows(sessionmaker, clock, world, tmp_path):
    rows = [[f"P{i}", "王", "东岭镇", "石门村", "脱贫户", "2", "", ""] for i in range(5)]
    seen: list[tuple[str, int]] = []
    report = await import_file(
        sessionmaker,
        write_csv(tmp_path / "p.csv", rows),
        clock.now(),
        progress=lambda stage, done, _total: seen.append((stage, done)),
        every=2,
    )
    assert report.ok
    assert ("读取", 2) in seen and ("读取", 4) in seen and ("校验", 4) in seen
    assert ("写入", 5) in seen
