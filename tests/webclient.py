"""Run the real service and talk to it like a browser does (for every feature's tests).

    async with webchat_server(database_url, tmp_path, clock) as server:   # needs `engine`
        async with server.client() as web:
            await web.bind(code)                       # -> reply frames
            frames = await web.send("帮助")             # waits for this message's replies
            frames = await web.press("visit:ok")
            status, body = await web.upload(png_bytes, "a.png", id=uuid, taken_at=exif)
            frames = await web.location(30.1, 120.2, "村委会")
            push = await web.next_push(timeout=10)     # an outbox message, pushed live

The app is bot.app.create_app with a Config pointing at the test's database, var/media dirs
under tmp_path and the test's FixedClock, served by aiohttp's TestServer on 127.0.0.1 (an
ephemeral port). The schema comes from the ``engine`` fixture (auto_upgrade=False), so a test
using this must request ``engine`` (or ``sessionmaker``) too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.appkeys import DELIVERY, INBOUND
from bot.config import Config, load_config
from core.clock import FixedClock

_ids = itertools.count(1)


def make_config(database_url: str, tmp_path: Path, **core: Any) -> Config:
    return load_config(
        database_url=database_url,
        var_dir=tmp_path / "var",
        media_dir=tmp_path / "var" / "media",
        secret_key="test-secret-key",
        **core,
    )


class WebServer:
    def __init__(self, server: TestServer) -> None:
        self.server = server

    @property
    def app(self) -> web.Application:
        return self.server.app

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def url(self, path: str) -> str:
        return self.base_url + path

    async def ready(self, timeout: float = 120) -> None:  # noqa: ASYNC109 (the documented test API)
        """Wait until messages are handled: they wait for the FAQ index, built in the
        background, which on a busy machine takes longer than a browser expectation's 5 s."""
        await asyncio.wait_for(self.app[INBOUND].ready.wait(), timeout)

    def wake_delivery(self) -> None:
        """Have the delivery worker look at the outbox now (after a test enqueued a push)."""
        self.app[DELIVERY].wake.set()

    def client(self) -> WebChatClient:
        return WebChatClient(self.base_url)


@asynccontextmanager
async def webchat_server(
    database_url: str,
    tmp_path: Path,
    clock: FixedClock,
    *,
    run_workers: bool = True,
    **core: Any,
) -> AsyncIterator[WebServer]:
    config = make_config(database_url, tmp_path, **core)
    app = create_app(config, clock=clock, auto_upgrade=False, run_workers=run_workers)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield WebServer(server)
    finally:
        await server.close()


class WebChatClient:
    """A browser: its own cookie jar, the page, one WebSocket, and uploads."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.history: dict[str, Any] = {}
        self.frames: list[dict[str, Any]] = []  # every frame received, in order
        self._pushes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._errors: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiters: dict[str, tuple[list[dict[str, Any]], asyncio.Future[None]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._history_ready: asyncio.Future[None] | None = None
        self.session_token: str | None = None  # given when binding or logout renews the id

    async def __aenter__(self) -> WebChatClient:
        # unsafe=True: the jar would otherwise refuse cookies from an IP address host.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        async with self.http.get(self.base_url + "/chat") as resp:
            resp.raise_for_status()
            self.page = await resp.text()
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()
        if self.http is not None:
            await self.http.close()

    @property
    def cookies(self) -> dict[str, str]:
        assert self.http is not None
        return {c.key: c.value for c in self.http.cookie_jar}

    async def connect(self, timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109 (the documented test API)
        """Open the socket and wait for the history frame (also used to reconnect)."""
        assert self.http is not None
        self.ws = await self.http.ws_connect(self.base_url + "/chat/ws")
        self._history_ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(self.ws))
        await asyncio.wait_for(asyncio.shield(self._history_ready), timeout)
        return self.history

    async def disconnect(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader
        self.ws = self._reader = None

    async def reconnect(self) -> dict[str, Any]:
        await self.disconnect()
        return await self.connect()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            self.frames.append(data)
            kind = data.get("type")
            if kind == "history":
                self.history = data
                if self._history_ready and not self._history_ready.done():
                    self._history_ready.set_result(None)
            elif kind == "status" and data.get("session"):
                self.session_token = data["session"]
            elif kind == "push":
                self._pushes.put_nowait(data)
            elif kind == "error" and data.get("reply_to") not in self._waiters:
                self._errors.put_nowait(data)
            if data.get("reply_to") in self._waiters:
                got, done = self._waiters[data["reply_to"]]
                got.append(data)
                if (data.get("final") or kind == "error") and not done.done():
                    done.set_result(None)

    # --- sending ----------------------------------------------------------------------------
    async def request(self, frame: dict[str, Any], timeout: float = 15) -> list[dict[str, Any]]:  # noqa: ASYNC109 (the documented test API)
        """Send one frame and wait until its last answer (reply/ack/error) has arrived."""
        assert self.ws is not None
        frame.setdefault("id", f"t{next(_ids)}")
        got: list[dict[str, Any]] = []
        done = asyncio.get_running_loop().create_future()
        self._waiters[frame["id"]] = (got, done)
        try:
            await self.ws.send_str(json.dumps(frame, ensure_ascii=False))
            await asyncio.wait_for(done, timeout)
        finally:
            self._waiters.pop(frame["id"], None)
        if self.session_token is not None:
            await self.adopt_session()
        return got

    async def adopt_session(self) -> int:
        """What the page does with a session token: exchange it for the new cookie."""
        assert self.http is not None and self.session_token is not None
        token, self.session_token = self.session_token, None
        async with self.http.post(self.base_url + "/chat/session", json={"token": token}) as resp:
            return resp.status

    async def send(self, text: str, id: str | None = None) -> list[dict[str, Any]]:
        frame: dict[str, Any] = {"type": "text", "text": text}
        if id is not None:
            frame["id"] = id
        return await self.request(frame)

    async def say(self, text: str) -> str:
        """Send text and return the reply texts joined (for simple assertions)."""
        return "\n".join(f.get("text", "") for f in await self.send(text))

    async def dispatch(self, text: str) -> str:
        """发任务 / 发通知 in one message, then 确认发送 on its preview (when one is shown): the
        reply texts joined."""
        frames = await self.send(text)
        send = [
            b["payload"]
            for f in frames
            for b in f.get("buttons", [])
            if b["payload"].startswith("bcast:send")
        ]
        if send:
            frames = [*frames, *(await self.press(send[0], "确认发送"))]
        return "\n".join(f.get("text", "") for f in frames)

    async def bind(self, code: str) -> list[dict[str, Any]]:
        return await self.send(f"绑定 {code}")

    async def press(self, payload: str, label: str = "") -> list[dict[str, Any]]:
        return await self.request({"type": "button", "payload": payload, "label": label})

    async def location(self, lat: float, lon: float, label: str = "") -> list[dict[str, Any]]:
        return await self.request({"type": "location", "lat": lat, "lon": lon, "label": label})

    async def send_raw(self, data: str | bytes) -> None:
        assert self.ws is not None
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)

    async def upload(
        self,
        data: bytes,
        filename: str,
        content_type: str = "application/octet-stream",
        *,
        id: str | None = None,
        taken_at: str | None = None,
        field: str = "photo",
    ) -> tuple[int, dict[str, Any]]:
        """POST /chat/upload as the page does: the client id (given, or a new one) and the
        original's EXIF time when given; ``field="voice"`` for a recording."""
        assert self.http is not None
        form = aiohttp.FormData()
        form.add_field("id", id if id is not None else f"u{next(_ids)}")
        if taken_at is not None:
            form.add_field("taken_at", taken_at)
        form.add_field(field, data, filename=filename, content_type=content_type)
        async with self.http.post(self.base_url + "/chat/upload", data=form) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str) -> tuple[int, bytes]:
        assert self.http is not None
        async with self.http.get(self.base_url + path) as resp:
            return resp.status, await resp.read()

    # --- receiving ----------------------------------------------------------------------------
    async def next_push(self, timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109 (the documented test API)
        return await asyncio.wait_for(self._pushes.get(), timeout)

    async def next_error(self, timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109 (the documented test API)
        """The next error frame that answers no frame sent with :meth:`request`."""
        return await asyncio.wait_for(self._errors.get(), timeout)
