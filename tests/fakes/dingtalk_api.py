"""A fake DingTalk server API on 127.0.0.1: the access token, one-to-one robot messages
(batchSend) and the robot's file download (download code -> temporary URL -> bytes).

It behaves like the far side, nothing more: tokens can be expired at once (401
InvalidAuthentication), users can be unknown (``invalidStaffIdList``) or throttled
(``flowControlledStaffIdList``). Tests read what it received (``sent``, ``token_requests``).

Message keys: ``sampleText`` and the ActionCards ``sampleActionCard`` (``singleTitle`` /
``singleURL``) and ``sampleActionCard2`` … ``5`` (``actionTitleN`` / ``actionURLN``); msgParam
must be a JSON string holding exactly the key's fields, and every card link a dtmd
sendMessage link. Anything else is refused with 400 ``invalidParameter``, and so are all cards
while ``refuse_cards`` is set (a DingTalk that does not take them): a code as text is HTTP 400
with that ``code``, a number is HTTP 200 with that ``errcode`` (the older API's way).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from aiohttp.test_utils import TestServer

CARD_KEYS = {"sampleActionCard": 1} | {f"sampleActionCard{n}": n for n in range(2, 6)}


def card_fields(key: str) -> set[str]:
    n = CARD_KEYS[key]
    if n == 1:
        return {"title", "text", "singleTitle", "singleURL"}
    return {"title", "text"} | {f"action{f}{i}" for f in ("Title", "URL") for i in range(1, n + 1)}


def card_buttons(param: dict[str, str]) -> list[tuple[str, str]]:
    """A card's buttons in order: (label, the text its dtmd link sends)."""
    if "singleTitle" in param:
        pairs = [(param["singleTitle"], param["singleURL"])]
    else:
        pairs = [
            (param[f"actionTitle{i}"], param[f"actionURL{i}"])
            for i in range(1, 6)
            if f"actionTitle{i}" in param
        ]
    return [(label, sent_text(url) or "") for label, url in pairs]


def shown(markdown: str) -> str:
    """Card markdown as the client shows it (escapes and line breaks only: all we send)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown.replace("  \n", "\n"))


def sent_text(url: str) -> str | None:
    """What a ``dtmd://dingtalkclient/sendMessage?content=…`` link sends, or None."""
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc, parts.path) != ("dtmd", "dingtalkclient", "/sendMessage"):
        return None
    content = parse_qs(parts.query).get("content")
    return content[0] if content and len(content) == 1 else None


def param_problem(key: str, raw: Any) -> str | None:
    """Why DingTalk would refuse this msgKey/msgParam, or None."""
    if not isinstance(raw, str):
        return "msgParam is not a JSON string"
    try:
        param = json.loads(raw)
    except ValueError:
        return "msgParam is not JSON"
    if not isinstance(param, dict) or not all(isinstance(v, str) for v in param.values()):
        return "msgParam is not an object of strings"
    if key == "sampleText":
        return None if set(param) == {"content"} else "sampleText needs content"
    if key not in CARD_KEYS:
        return f"unknown msgKey {key}"
    if set(param) != card_fields(key) or not all(param.values()):
        return f"{key} needs {sorted(card_fields(key))}"
    urls = [v for k, v in param.items() if re.fullmatch(r"singleURL|actionURL\d", k)]
    if any(sent_text(url) is None for url in urls):
        return "a card link is not a dtmd sendMessage link"
    return None


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
        self.refuse_cards: str | int | None = None  # a code: every card is refused with it
        self.refused: list[str] = []  # why each refused message was refused
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

    def cards_to(self, user: str) -> list[dict[str, Any]]:
        """The ActionCards sent to ``user`` (msgParam decoded, ``msgKey`` added)."""
        return [
            m["msgParam"] | {"msgKey": m["msgKey"]}
            for m in self.sent
            if m["userIds"] == [user] and m["msgKey"] in CARD_KEYS
        ]

    def shown_to(self, user: str) -> list[str]:
        """What the person read, in order: each text, and each card's text as shown (the
        markdown's escapes and hard line breaks rendered)."""
        return [
            m["msgParam"]["content"]
            if m["msgKey"] == "sampleText"
            else shown(m["msgParam"]["text"])
            for m in self.sent
            if m["userIds"] == [user]
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
        key = body.get("msgKey")
        problem = param_problem(str(key), body.get("msgParam"))
        if problem is None and key in CARD_KEYS and self.refuse_cards:
            problem = f"card refused ({self.refuse_cards})"
        if problem is not None:
            self.refused.append(problem)
            code = (
                self.refuse_cards if key in CARD_KEYS and self.refuse_cards else "invalidParameter"
            )
            if isinstance(code, int):
                return web.json_response({"errcode": code, "errmsg": problem})
            return web.json_response({"code": code, "message": problem}, status=400)
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
