"""A fake Telegram Bot API on 127.0.0.1 that the real aiogram Bot talks to.

Serves getMe, getUpdates (long polling over a queue the test fills), sendMessage, sendPhoto,
getFile and file download, answerCallbackQuery, setWebhook and deleteWebhook. ``fail`` makes
the next call of a method answer 429 (with retry_after) or 403, as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "村务助手", "username": "cunbot_bot"}
WAIT_LIMIT = 10.0  # seconds a test waits for the bot to do something


class FakeTelegramApi:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []  # sendMessage / sendPhoto requests, in order
        self.sent_at: list[float] = []
        self.files: dict[str, bytes] = {}  # file_id -> bytes
        self.webhook: dict[str, Any] | None = None
        self.fail: dict[str, tuple[int, int]] = {}  # method -> (status, retry_after)
        self.on_sent: Callable[[dict[str, Any]], None] | None = None
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._closing = False
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self.method)
        app.router.add_get("/file/bot{token}/{path:.+}", self.download)
        self.server = TestServer(app, host="127.0.0.1", port=0)

    async def start(self) -> str:
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        async with self._changed:
            self._closing = True
            self._changed.notify_all()
        await self.server.close()

    # -- what the test does ----------------------------------------------------------------

    def _user(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": f"u{chat_id}"}

    def message_update(
        self, chat_id: int, chat_type: str = "private", **content: Any
    ) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "message": {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type},
                "from": self._user(chat_id),
                **content,
            },
        }

    def callback_update(self, chat_id: int, data: str) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cq{next(self._ids)}",
                "from": self._user(chat_id),
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": next(self._ids),
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "text": "menu",
                },
            },
        }

    def photo_content(self, data: bytes) -> dict[str, Any]:
        small, large = f"f{next(self._ids)}", f"f{next(self._ids)}"
        self.files[small] = b"thumbnail bytes, never downloaded"
        self.files[large] = data
        return {
            "photo": [
                {"file_id": small, "file_unique_id": small, "width": 90, "height": 60},
                {"file_id": large, "file_unique_id": large, "width": 1280, "height": 960},
            ]
        }

    def voice_content(self, data: bytes, size: int | None = None) -> dict[str, Any]:
        """A voice message (OGG/Opus); ``size``: the file size announced, if not the real one."""
        fid = f"f{next(self._ids)}"
        self.files[fid] = data
        voice = {"file_id": fid, "file_unique_id": fid, "duration": 3, "mime_type": "audio/ogg"}
        return {"voice": voice | {"file_size": len(data) if size is None else size}}

    async def push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Until ``condition()`` holds; it is re-checked whenever the bot calls the API."""
        async with asyncio.timeout(WAIT_LIMIT), self._changed:
            await self._changed.wait_for(condition)

    def texts_to(self, chat_id: int) -> list[str]:
        return [
            m.get("text") or m.get("caption") or ""
            for m in self.sent
            if str(m.get("chat_id")) == str(chat_id)
        ]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    # -- the Bot API -------------------------------------------------------------------------

    async def method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        name = request.match_info["method"]
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = value.file.read()
            else:
                params[key] = value
        if name != "getUpdates":
            async with self._changed:
                self.calls.append((name, params))
                self._changed.notify_all()
        if name in self.fail:
            status, retry_after = self.fail.pop(name)
            if status == 429:
                return self._error(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after
                )
            return self._error(status, "Forbidden: bot was blocked by the user")
        handler = getattr(self, "m_" + name, None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        result = await handler(params)
        return web.json_response({"ok": True, "result": result})

    def _error(self, code: int, description: str, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=code)

    async def m_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)

        def ready() -> list[dict[str, Any]]:
            return [u for u in self.updates if u["update_id"] >= offset]

        async with self._changed:
            self.updates = ready()  # confirmed updates are forgotten, as on Telegram
            if not self.updates and timeout and not self._closing:
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: bool(ready()) or self._closing)
                except TimeoutError:
                    pass
            return ready()[:100]

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        sent = {**params, **content}
        self.sent.append(sent)
        self.sent_at.append(time.perf_counter())
        if self.on_sent is not None:
            self.on_sent(sent)
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            **content,
        }

    async def m_sendMessage(self, params: dict[str, Any]) -> Any:
        markup = json.loads(params["reply_markup"]) if params.get("reply_markup") else None
        return self._message(params, text=params["text"], reply_markup=markup)

    async def m_sendPhoto(self, params: dict[str, Any]) -> Any:
        fid = f"p{next(self._ids)}"
        photo_field = params["photo"]
        if isinstance(photo_field, str) and photo_field.startswith("attach://"):
            photo_field = params.pop(photo_field.removeprefix("attach://"))
        self.files[fid] = photo_field
        photo = [{"file_id": fid, "file_unique_id": fid, "width": 1, "height": 1}]
        content: dict[str, Any] = {"photo": photo}
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._message({k: v for k, v in params.items() if k != "photo"}, **content)

    async def m_getFile(self, params: dict[str, Any]) -> Any:
        fid = params["file_id"]
        return {
            "file_id": fid,
            "file_unique_id": fid,
            "file_size": len(self.files[fid]),
            "file_path": f"photos/{fid}.jpg",
        }

    async def download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        fid = request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")
        if fid not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[fid], content_type="image/jpeg")

    async def m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def m_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = params
        return True

    async def m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True
