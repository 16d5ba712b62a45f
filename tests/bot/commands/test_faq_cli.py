"""FAQ files and the command line: all-or-nothing import naming the broken entry, export and
import round trip, and `cunbot faq ask --json` with one question or one per line on stdin."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cli import main
from services import faq_file
from storage import db
from storage.models import Faq

ROOT = Path(__file__).resolve().parents[3]

GOOD = """
- id: T1
  question: 低保渐退多长时间？
  variants: [低保渐退期多久]
  answer: 一般为1年。
  source: 测试文件
  tags: [低保]
  reviewed: 2026-11-01
"""


@pytest.fixture
def cli_db(backend, request, tmp_path) -> str:
    """A database the CLI can use: on PostgreSQL the per-process test database (schema from
    the engine fixture); on SQLite a fresh file the CLI migrates itself."""
    if backend == "postgresql":
        request.getfixturevalue("engine")
        return request.getfixturevalue("database_url")
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def migrate() -> None:
        engine = db.make_engine(url)
        await db.upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return url


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(cli_db, monkeypatch, capsys):
    """Run ``cunbot faq ...`` in this process (import/export need no separate process)."""

    def go(*args: str) -> Ran:
        monkeypatch.setenv("CUNBOT_DATABASE_URL", cli_db)
        code = main(["faq", *args])
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return go


def run(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CUNBOT_DATABASE_URL": url, "CUNBOT_LOG_FORMAT": "text"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "faq", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def faq_ids(url: str) -> list[str]:
    async def go() -> list[str]:
        engine = db.make_engine(url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(sa.select(Faq.id).order_by(Faq.id))).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_import_with_a_missing_answer_writes_nothing_and_names_the_entry(cli, cli_db, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(GOOD + "- id: T2\n  question: 没有答案的问题\n", encoding="utf-8")
    result = cli("import", str(broken))
    assert result.returncode == 1
    assert "第 2 条（id=T2）" in result.stderr and "answer" in result.stderr
    assert "没有写入" in result.stderr
    assert faq_ids(cli_db) == []


def test_import_with_a_duplicate_id_writes_nothing_and_names_the_entry(cli, cli_db, tmp_path):
    broken = tmp_path / "dup.yaml"
    broken.write_text(GOOD + GOOD, encoding="utf-8")
    result = cli("import", str(broken))
    assert result.returncode == 1
    assert "第 2 条（id=T1）" in result.stderr and "重复" in result.stderr
    assert faq_ids(cli_db) == []


def test_parse_entries_rejects_unknown_fields_and_bad_dates():
    with pytest.raises(faq_file.FaqFileError, match="第 1 条.*未知字段 answr"):
        faq_file.parse_entries([{"id": "A", "question": "q", "answr": "a"}])
    with pytest.raises(faq_file.FaqFileError, match="reviewed"):
        faq_file.parse_entries([{"id": "A", "question": "q", "answer": "a", "reviewed": "x"}])
    with pytest.raises(faq_file.FaqFileError, match="列表"):
        faq_file.parse_entries({"id": "A"})


def test_parse_entries_reads_a_countys_own_entry_and_refuses_a_bad_county_id():
    [entry] = faq_file.parse_entries([{"id": "Q1", "question": "q", "answer": "a", "county_id": 7}])
    assert entry.county_id == 7 and faq_file.entry_dict(entry)["county_id"] == 7
    for bad in ("7", 0, -3, True, 2**40):
        with pytest.raises(faq_file.FaqFileError, match="county_id"):
            faq_file.parse_entries([{"id": "Q1", "question": "q", "answer": "a", "county_id": bad}])


def test_export_then_import_round_trips_the_shipped_faq(cli, cli_db, tmp_path):
    assert cli("import", str(faq_file.SHIPPED)).returncode == 0
    out = tmp_path / "export.yaml"
    exported = cli("export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert faq_file.read_file(out) == faq_file.read_file(faq_file.SHIPPED)
    again = cli("import", str(out))
    assert again.returncode == 0 and "新增 0 条" in again.stdout
    assert len(faq_ids(cli_db)) == len(faq_file.read_file(faq_file.SHIPPED))


def test_ask_json_single_question(cli):
    result = cli("ask", "--json", "请问低保渐退多长时间呢")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"question", "matched", "answer", "faq_id", "score", "source", "suggestions"}
    assert out["matched"] is True and out["faq_id"] == "F028" and "1年" in out["answer"]


def test_ask_json_reads_one_question_per_line_from_stdin(cli_db):
    """A real ``python -m bot`` process with real stdin: one index load, one line each."""
    result = run(cli_db, "ask", "--json", stdin="低保渐退多长时间\n\n明天天气怎么样\n卫生室面积\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in lines] == ["低保渐退多长时间", "明天天气怎么样", "卫生室面积"]
    assert [o["matched"] for o in lines] == [True, False, True]
    assert lines[1]["answer"] is None and lines[1]["faq_id"] is None
    assert lines[2]["faq_id"] == "F018"


def test_ask_uses_the_database_faq_once_imported(cli, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(GOOD, encoding="utf-8")
    assert cli("import", str(mine)).returncode == 0
    out = json.loads(cli("ask", "--json", "低保渐退期多久").stdout)
    assert out["faq_id"] == "T1" and out["source"] == "测试文件"


def test_ask_against_a_file_and_in_plain_text(cli, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(GOOD, encoding="utf-8")
    out = json.loads(cli("ask", "--json", "--file", str(mine), "低保渐退期多久").stdout)
    assert out["faq_id"] == "T1"
    plain = cli("ask", "--file", str(mine), "低保渐退期多久").stdout
    assert "一般为1年" in plain and "来源：测试文件" in plain
    refused = cli("ask", "--file", str(mine), "明天天气怎么样").stdout
    assert "答不准" in refused
