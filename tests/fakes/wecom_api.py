"""A fake WeCom server API on 127.0.0.1: gettoken, message/send, media/get, media/upload.

It behaves like the far side of the protocol, nothing more: tokens expire when told to, the
API limit (45009) can be switched on, unknown users come back in ``invaliduser``. Tests read
what it received (``sent``, ``token_requests``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


class FakeWeComApi:
    def __init__(self, corp_id: str, secret: str, expires_in: int = 7200) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.expires_in = expires_in
        self.token_requests = 0
        self.valid_tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self.sent_at: list[float] = []
        self.media: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.invalid_users: set[str] = set()
        self.rate_limited = 0  # answer this many message/send calls with 45009
        self._ids = itertools.count(1)
        self.on_sent: Callable[[dict[str, Any]], None] | None = None  # benchmarks listen here
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/message/send", self.message_send)
        app.router.add_get("/cgi-bin/media/get", self.media_get)
        app.router.add_post("/cgi-bin/media/upload", self.media_upload)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def start(self) -> str:
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        await self.server.close()

    def expire_tokens(self) -> None:
        """Every token handed out so far is now rejected with 42001."""
        self.valid_tokens.clear()

    def texts_to(self, user: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m["touser"] == user and "text" in m]

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token not in self.valid_tokens:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    async def gettoken(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        q = request.query
        if q.get("corpid") != self.corp_id or q.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        token = f"tok{next(self._ids)}"
        self.valid_tokens.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}
        )

    async def message_send(self, request: web.Request) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        if body.get("touser") in self.invalid_users:
            return web.json_response({"errcode": 81013, "errmsg": "user & party & tag all invalid"})
        self.sent.append(body)
        self.sent_at.append(time.perf_counter())
        if self.on_sent is not None:
            self.on_sent(body)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"s{next(self._ids)}"}
        )

    async def media_get(self, request: web.Request) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        data = self.media.get(request.query.get("media_id", ""))
        if data is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=data, content_type="image/jpeg")

    async def media_upload(self, request: web.Request) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        form = await request.post()
        field = form.get("media")
        if request.query.get("type") != "image" or not isinstance(field, web.FileField):
            return web.json_response({"errcode": 40004, "errmsg": "invalid media type"})
        media_id = f"up{next(self._ids)}"
        self.uploads[media_id] = field.file.read()
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "type": "image", "media_id": media_id}
        )
