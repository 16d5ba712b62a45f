"""A fake WeCom server API on 127.0.0.1: gettoken, message/send (text, image, template_card),
message/update_template_card, media/get, media/upload.

It behaves like the far side of the protocol, nothing more: tokens expire when told to, the
API limit (45009) can be switched on, unknown users come back in ``invaliduser``. Template
cards are checked for the shape WeCom documents for ``button_interaction`` (card_type, a
main_title, 1-6 buttons with text/key/style, keys unique in the card, a task_id of at most
128 of [A-Za-z0-9_@-] never used before), held to the documented lengths, and answered with
a response code; ``refuse_cards`` answers every card with that errcode instead (a client or
corp without cards). A tap's response code comes from :meth:`FakeWeComApi.tap_code`; each
code updates a card once (``card_updates``), a reused or unknown one is refused
(``refused_updates``). Tests read what it received (``sent``, ``token_requests``).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TASK_ID = re.compile(r"[A-Za-z0-9_@-]{1,128}")
BAD_PARAM = 40058  # WeCom's "invalid parameter"
BAD_CODE = 40299  # this fake's errcode for a response code unknown or already spent


def card_problem(card: Any) -> str | None:
    """What is wrong with a button_interaction template card, or None."""
    if not isinstance(card, dict) or card.get("card_type") != "button_interaction":
        return "card_type"
    title = (card.get("main_title") or {}).get("title")
    if not isinstance(title, str) or not 0 < len(title) <= 36:
        return "main_title.title"
    sub = card.get("sub_title_text", "")
    if not isinstance(sub, str) or len(sub) > 160:
        return "sub_title_text"
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        return "button_list"
    for b in buttons:
        if not (
            isinstance(b, dict) and isinstance(b.get("text"), str) and 0 < len(b["text"]) <= 10
        ):
            return "button_list.text"
        if not (isinstance(b.get("key"), str) and 0 < len(b["key"].encode()) <= 1024):
            return "button_list.key"
        if b.get("style") not in (1, 2, 3, 4):
            return "button_list.style"
    if len({b["key"] for b in buttons}) != len(buttons):
        return "button_list.key not unique"
    if not isinstance(card.get("task_id"), str) or not TASK_ID.fullmatch(card["task_id"]):
        return "task_id"
    return None


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
        self.refuse_cards: int | None = None  # answer template cards with this errcode
        self.task_ids: set[str] = set()
        self.codes: dict[str, str] = {}  # response code not yet spent -> its task_id
        self.card_updates: list[dict[str, Any]] = []
        self.refused_updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.on_sent: Callable[[dict[str, Any]], None] | None = None  # benchmarks listen here
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/message/send", self.message_send)
        app.router.add_post("/cgi-bin/message/update_template_card", self.update_card)
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

    def cards_to(self, user: str) -> list[dict[str, Any]]:
        return [
            m["template_card"] for m in self.sent if m["touser"] == user and "template_card" in m
        ]

    def shown_to(self, user: str) -> list[str]:
        """What the person read, in order: texts, and each card's title and sub-title."""
        return [
            m["text"]["content"] if "text" in m else card_text(m["template_card"])
            for m in self.sent
            if m["touser"] == user and ("text" in m or "template_card" in m)
        ]

    def tap_code(self, task_id: str) -> str:
        """The response code of a tap on the card ``task_id`` (as a card event carries it)."""
        code = f"RC{next(self._ids)}-{task_id}"
        self.codes[code] = task_id
        return code

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
        extra: dict[str, Any] = {}
        if body.get("msgtype") == "template_card":
            refused = self._refuse_card(body.get("template_card"))
            if refused is not None:
                return refused
            extra["response_code"] = self.tap_code(body["template_card"]["task_id"])
        self.sent.append(body)
        self.sent_at.append(time.perf_counter())
        if self.on_sent is not None:
            self.on_sent(body)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"s{next(self._ids)}"}
            | extra
        )

    def _refuse_card(self, card: Any) -> web.Response | None:
        if self.refuse_cards is not None:
            return web.json_response({"errcode": self.refuse_cards, "errmsg": "card refused"})
        problem = card_problem(card)
        if problem is None and card["task_id"] in self.task_ids:
            problem = "task_id used before"
        if problem is not None:
            return web.json_response({"errcode": BAD_PARAM, "errmsg": f"invalid {problem}"})
        self.task_ids.add(card["task_id"])
        return None

    async def update_card(self, request: web.Request) -> web.Response:
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        name = (body.get("button") or {}).get("replace_name")
        if not isinstance(body.get("userids"), list) or not isinstance(name, str) or not name:
            return web.json_response({"errcode": BAD_PARAM, "errmsg": "invalid parameter"})
        if self.codes.pop(body.get("response_code"), None) is None:
            self.refused_updates.append(body)
            return web.json_response({"errcode": BAD_CODE, "errmsg": "invalid response_code"})
        self.card_updates.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

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


def card_text(card: dict[str, Any]) -> str:
    return "\n".join(p for p in (card["main_title"]["title"], card.get("sub_title_text", "")) if p)
