"""A fake DingTalk server API on 127.0.0.1: the access token, one-to-one robot messages
(batchSend) and the robot's file download (download code -> temporary URL -> bytes).

It behaves like the far side, nothing more: tokens can be expired at once (401
InvalidAuthentication), users can be unknown (``invalidStaffIdList``) or throttled
(``flowControlledStaffIdList``). Tests read what it received (``sent``, ``token_requests``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


class FakeDingTalkApi:
    def __init__(
        self, app_key: str, app_secret: str, robot_code: str, expires_in: int = 7200
    ) -> None:
        self.app_key, self.app_secret, self.robot_code = app_key, app_secret, robot_code
        self.expires_in = expires_in
        self.token_delay = 0.0  # seconds the token endpoint takes (to overlap callers)
        self.token_requests = 0
        self.valid_tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []  # batchSend bodies, msgParam decoded
        self.send_calls = 0
        self.files: dict[str, bytes] = {}  # download code -> bytes
        self.downloads = 0
        self.invalid_users: set[str] = set()
        self.throttled_users: set[str] = set()
        self._ids = itertools.count(1)
        self._urls: dict[str, bytes] = {}
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/v1.0/oauth2/accessToken", self.access_token)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self.batch_send)
        app.router.add_post("/v1.0/robot/messageFiles/download", self.file_download)
        app.router.add_get("/files/{name}", self.file)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def start(self) -> str:
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        await self.server.close()

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def texts_to(self, user: str) -> list[str]:
        return [
            m["msgParam"]["content"]
            for m in self.sent
            if m["userIds"] == [user] and m["msgKey"] == "sampleText"
        ]

    def _token_error(self, request: web.Request) -> web.Response | None:
        if request.headers.get("x-acs-dingtalk-access-token", "") not in self.valid_tokens:
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "不合法的access_token"}, status=401
            )
        return None

    async def access_token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        body = await request.json()
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
            return web.json_response(
                {"code": "invalidClientIdOrSecret", "message": "无效的appKey或appSecret"},
                status=400,
            )
        token = f"tok{next(self._ids)}"
        self.valid_tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": self.expires_in})

    async def batch_send(self, request: web.Request) -> web.Response:
        self.send_calls += 1
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        if body.get("robotCode") != self.robot_code:
            return web.json_response(
                {"code": "resource.not.found", "message": "robot 不存在"}, status=400
            )
        users = body.get("userIds") or []
        invalid = [u for u in users if u in self.invalid_users]
        throttled = [u for u in users if u in self.throttled_users]
        if not invalid and not throttled:
            self.sent.append(body | {"msgParam": json.loads(body["msgParam"])})
        return web.json_response(
            {
                "processQueryKey": f"q{next(self._ids)}",
                "invalidStaffIdList": invalid,
                "flowControlledStaffIdList": throttled,
            }
        )

    async def file_download(self, request: web.Request) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        data = self.files.get(body.get("downloadCode", ""))
        if data is None or body.get("robotCode") != self.robot_code:
            return web.json_response(
                {"code": "invalidParameter.downloadCode", "message": "下载码无效"}, status=400
            )
        name = f"f{next(self._ids)}.file"
        self._urls[name] = data
        return web.json_response({"downloadUrl": str(self.server.make_url(f"/files/{name}"))})

    async def file(self, request: web.Request) -> web.Response:
        data = self._urls.pop(request.match_info["name"], None)  # a temporary URL: once
        if data is None:
            return web.Response(status=404)
        self.downloads += 1
        return web.Response(body=data, content_type="application/octet-stream")
