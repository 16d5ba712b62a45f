"""The real service as a child process (``python -m bot run``), for the crash tests: its
configuration is the environment, as in production; ``kill()`` is ``kill -9``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from bot.channels.webchat.protocol import cookie_value
from storage import db, regions
from storage.models import Identity, Person
from storage.session import AsyncEngine
from tests.fakes.harness import AES_KEY, CORP_ID, SECRET, TOKEN

ROOT = Path(__file__).resolve().parents[2]
WEB_SECRET = "chaos-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser_cookie(external_id: str) -> str:
    return cookie_value(WEB_SECRET.encode(), external_id)


class Service:
    def __init__(self, database_url: str, workdir: Path, wecom_base: str) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.wecom_base = wecom_base
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "service.log"
        self.child: asyncio.subprocess.Process | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUNBOT_")}
        env.update(
            CUNBOT_DATABASE_URL=self.database_url,
            CUNBOT_HOST="127.0.0.1",
            CUNBOT_PORT=str(self.port),
            CUNBOT_VAR_DIR=str(self.workdir / "var"),
            CUNBOT_MEDIA_DIR=str(self.workdir / "media"),
            CUNBOT_SECRET_KEY=WEB_SECRET,
            CUNBOT_LOG_FORMAT="text",
            CUNBOT_RUN_SCHEDULER="false",
            CUNBOT_WEBCHAT_RATE="1000",
            CUNBOT_WEBCHAT_BURST="1000",
            CUNBOT_WECOM_CORP_ID=CORP_ID,
            CUNBOT_WECOM_AGENT_ID="1000002",
            CUNBOT_WECOM_SECRET=SECRET,
            CUNBOT_WECOM_TOKEN=TOKEN,
            CUNBOT_WECOM_AES_KEY=AES_KEY,
            CUNBOT_WECOM_API_BASE=self.wecom_base,
            PYTHONPATH=str(ROOT),
        )
        return env

    async def start(self, within: float = 90.0) -> float:
        """Spawn and wait for the first 200 from /healthz; returns the seconds it took."""
        started = time.perf_counter()
        with self.log.open("ab") as out:
            self.child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=self.env(),
                cwd=self.workdir,
                stdout=out,
                stderr=out,
            )
        async with aiohttp.ClientSession() as http:
            while time.perf_counter() - started < within:
                if self.child.returncode is not None:
                    raise AssertionError(f"service exited:\n{self.log.read_text()[-3000:]}")
                try:
                    async with http.get(self.base + "/healthz") as resp:
                        if resp.status == 200:
                            return time.perf_counter() - started
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
        raise AssertionError("service did not answer /healthz")

    async def kill(self) -> None:
        if self.child is not None and self.child.returncode is None:
            self.child.send_signal(signal.SIGKILL)
            await self.child.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


async def service_database(database_url: str, workdir: Path, engine: AsyncEngine) -> str:
    """The database the child uses: on SQLite a file of its own with the migrated schema (the
    service upgrades SQLite at start, so the test fixture's create_all file cannot be used);
    on PostgreSQL the test database the fixture made (truncated after the test)."""
    if not db.is_sqlite(database_url):
        return database_url
    url = f"sqlite+aiosqlite:///{workdir / 'service.sqlite3'}"
    own = db.make_engine(url)
    await db.upgrade(own)
    await own.dispose()
    return url


async def seed(
    database_url: str, now: datetime, wecom_users: list[str], browsers: list[str]
) -> None:
    """People bound on WeCom (``wecom_users``) and on the web chat (``browsers``: browser
    ids; the cookie is :func:`browser_cookie`), written directly: this is set-up."""
    engine = db.make_engine(database_url)
    sm = db.make_sessionmaker(engine)
    async with sm() as s, s.begin():
        county = await regions.add(s, "county", "示范县")
        town = await regions.add(s, "township", "东岭镇", county.id)
        village = await regions.add(s, "village", "石门村", town.id)
        accounts = [("wecom", u) for u in wecom_users] + [("webchat", b) for b in browsers]
        for i, (channel, external_id) in enumerate(accounts):
            person_id = await s.scalar(
                sa.insert(Person)
                .values(
                    name=f"书记{i}",
                    role="secretary",
                    region_id=village.id,
                    phone=f"138{i:08d}",
                    prefs={},
                    last_channel=channel,
                    created_at=now,
                )
                .returning(Person.id)
            )
            await s.execute(
                sa.insert(Identity).values(
                    channel=channel,
                    external_id=external_id,
                    person_id=person_id,
                    created_at=now,
                    last_seen_at=now,
                )
            )
    await engine.dispose()
