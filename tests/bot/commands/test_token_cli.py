"""`cunbot token create` makes a token that the API accepts; only its hash is stored."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bot.cli import main
from storage import api_tokens, db, people, regions
from storage.models import ApiToken


def test_token_create_prints_a_working_token_and_stores_only_its_hash(
    tmp_path, monkeypatch, capsys, clock
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def seed() -> int:
        engine = db.make_engine(url)
        await db.upgrade(engine)
        async with db.make_sessionmaker(engine)() as s, s.begin():
            county = await regions.add(s, "county", "示范县")
            staff = await people.add(
                s, name="县干部甲", role="county_staff", region_id=county.id, now=clock.now()
            )
        await engine.dispose()
        return staff.id

    staff_id = asyncio.run(seed())
    monkeypatch.setenv("CUNBOT_DATABASE_URL", url)
    assert main(["token", "create", "--person", "县干部甲"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cb_")
    assert main(["token", "create", "--person", "无此人"]) == 1

    async def check() -> tuple[int | None, list[str]]:
        engine = db.make_engine(url)
        async with db.make_sessionmaker(engine)() as s:
            person = await api_tokens.person_for(s, token)
            stored = list(await s.scalars(sa.select(ApiToken.token_sha256)))
        await engine.dispose()
        return (person.id if person else None), stored

    found, stored = asyncio.run(check())
    assert found == staff_id and stored == [api_tokens.digest(token)] and token not in stored
