"""The `cunbot` command line, run as a real subprocess against the test database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage import db
from storage.models import Audit, Household, Person, Region
from tests.chat import ChatDriver
from tests.factories import make_world

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def cli(request, database_url, backend, tmp_path):
    """Run ``python -m bot ...``. On PostgreSQL the schema comes from the ``engine`` fixture;
    on SQLite the command upgrades the fresh file itself (as a user's first run does)."""
    if backend == "postgresql":
        request.getfixturevalue("engine")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CUNBOT_DATABASE_URL": database_url,
        "CUNBOT_VAR_DIR": str(tmp_path / "var"),
        "CUNBOT_MEDIA_DIR": str(tmp_path / "var" / "media"),
    }

    async def run(*args: str, **extra_env: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=tmp_path,
            env={**env, **extra_env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return proc.returncode, out.decode(), err.decode()

    return run


@pytest.fixture
async def world(cli, database_url, clock):
    """make_world's county, written in-process (faster than running ``demo`` first)."""
    engine = db.make_engine(database_url)
    try:
        if db.is_sqlite(database_url):
            await db.upgrade(engine)
        return await make_world(db.make_sessionmaker(engine), clock.now())
    finally:
        await engine.dispose()


async def counts(database_url: str) -> dict[str, int]:
    engine = db.make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {
                model.__tablename__: await conn.scalar(
                    sa.select(sa.func.count()).select_from(model)
                )
                for model in (Region, Person, Household)
            }
    finally:
        await engine.dispose()


async def test_demo_is_idempotent_and_prints_usable_codes(cli, database_url, clock, rules):
    rc, out, err = await cli("demo", "--json")
    assert rc == 0, err
    first = json.loads(out)
    assert len(first) == 17
    assert all({"name", "role", "region", "invite_code"} <= set(p) for p in first)
    assert [p["role"] for p in first].count("secretary") == 12
    assert [p["role"] for p in first].count("county_staff") == 2
    # A township officer per township, so the console can be tried at both levels.
    towns = [p["region"] for p in first if p["role"] == "township_staff"]
    assert towns == ["东岭镇", "西川乡", "南坪镇"]
    assert await counts(database_url) == {"regions": 16, "people": 17, "households": 600}
    rc, out, err = await cli("demo", "--json")
    assert rc == 0, err
    second = json.loads(out)
    assert [p["name"] for p in second] == [p["name"] for p in first]
    assert {p["invite_code"] for p in second}.isdisjoint({p["invite_code"] for p in first})
    assert await counts(database_url) == {"regions": 16, "people": 17, "households": 600}
    # A printed code binds a chat to that very person.
    engine = db.make_engine(database_url)
    try:
        chat = ChatDriver(db.make_sessionmaker(engine), clock, rules)
        reply = await chat.say("demo-user", f"绑定 {second[0]['invite_code']}")
    finally:
        await engine.dispose()
    assert "绑定成功" in reply and second[0]["name"] in reply


async def test_demo_text_output_lists_people_and_codes(cli):
    rc, out, err = await cli("demo")
    assert rc == 0, err
    assert "示范县" in out and "第一书记" in out and "县级工作人员" in out
    assert out.count("示范县/") >= 12
    assert "乡镇干部" in out and "cunbot login-link --person" in out


async def test_invite_json_prints_code_with_expiry(cli, world):
    rc, out, err = await cli("invite", "--role", "secretary", "--region", "石门村", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert {"invite_code", "role", "region", "expires_at"} <= set(data)
    assert data["role"] == "secretary" and data["region"] == "石门村"
    assert datetime.fromisoformat(data["expires_at"]) > datetime.now(UTC)
    rc, out, err = await cli(
        "invite", "--role", "县级工作人员", "--region", "示范县", "--name", "新人"
    )
    assert rc == 0, err
    assert "邀请码" in out and "有效期至" in out


async def test_invite_with_unknown_or_ambiguous_region_lists_candidates(cli, world):
    rc, _, err = await cli("invite", "--role", "secretary", "--region", "不存在村")
    assert rc == 1 and "找不到村「不存在村」" in err and "石门村" in err
    rc, _, err = await cli("invite", "--role", "secretary", "--region", "村")
    assert rc == 1 and "对应多个村" in err and "示范县/东岭镇/石门村" in err
    rc, _, err = await cli("invite", "--role", "boss", "--region", "石门村")
    assert rc == 2 and "不认识的身份" in err


async def test_households_import_command_reports_bad_rows_and_writes_nothing(
    cli, world, database_url, tmp_path
):
    path = tmp_path / "bad.csv"
    path.write_text(
        "户编号,户主姓名,所属乡镇,所属村,户类型,家庭人口,帮扶责任人,联系电话\n"
        "N1,王一,东岭镇,石门村,脱贫户,3,,\n"
        "N2,王二,东岭镇,无此村,脱贫户,3,,\n"
        "N3,王三,东岭镇,石门村,脱贫户,x,,\n",
        encoding="utf-8",
    )
    rc, _, err = await cli("households", "import", str(path))
    assert rc == 1
    assert "没有写入任何数据" in err and "第 3 行" in err and "第 4 行" in err
    assert (await counts(database_url))["households"] == 0
    path.write_text(
        "户编号,户主姓名,所属乡镇,所属村,户类型,家庭人口,帮扶责任人,联系电话\n"
        "N1,王一,东岭镇,石门村,脱贫户,3,,\n",
        encoding="utf-8",
    )
    rc, out, err = await cli("households", "import", str(path))
    assert rc == 0, err
    assert "新增 1" in out
    assert (await counts(database_url))["households"] == 1


async def test_bad_config_stops_with_one_line_naming_the_setting(cli):
    rc, out, err = await cli("demo", CUNBOT_PORT="abc")
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "CUNBOT_PORT" in lines[0]


async def test_person_deactivate_shuts_a_person_out_once(cli, world, database_url):
    rc, out, err = await cli("person", "deactivate", "--person", "书记0")
    assert rc == 0, err
    assert "已停用 书记0" in out
    rc, _, err = await cli("person", "deactivate", "--person", "书记0")
    assert rc == 1 and "已经停用" in err
    rc, _, err = await cli("person", "deactivate", "--person", "无此人")
    assert rc == 1 and "找不到人员" in err
    engine = db.make_engine(database_url)
    try:
        async with engine.connect() as conn:
            active = await conn.scalar(sa.select(Person.active).where(Person.name == "书记0"))
    finally:
        await engine.dispose()
    assert active is False


async def test_quota_set_show_and_clear_from_the_command_line(cli, world, database_url):
    rc, out, err = await cli(
        "quota", "set", "--region", "东岭镇", "--category", "监测户", "--per-month", "4"
    )
    assert rc == 0, err
    assert "东岭镇 监测户：每月 默认 → 4" in out
    rc, out, err = await cli("quota", "show", "--region", "石门村")
    assert rc == 0, err
    assert "示范县/东岭镇/石门村 每户每月走访次数（每天最多计 1 次）" in out
    assert "监测户  4  东岭镇" in out and "一般户  0  默认" in out
    rc, _, err = await cli(
        "quota", "set", "--region", "石门村", "--category", "富裕户", "--per-month", "2"
    )
    assert rc == 2 and "户类型「富裕户」不对" in err
    rc, out, err = await cli("quota", "clear", "--region", "东岭镇", "--category", "监测户")
    assert rc == 0 and "每月 4 → 默认" in out, err
    engine = db.make_engine(database_url)
    try:
        async with engine.connect() as conn:
            actions = (
                await conn.scalars(
                    sa.select(Audit.action).where(Audit.action.like("quota.%")).order_by(Audit.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert actions == ["quota.set", "quota.clear"]
