"""WeCom server API client (access token, message/send, message/update_template_card,
media/get, media/upload); the outbox sender built on it is in
:mod:`bot.channels.wecom.sender`.

The access token is cached until shortly before ``expires_in`` and refreshed single-flight:
callers that find it stale wait on one lock, and the first one in fetches; a caller whose
token was rejected (40001/40014/42001) asks for a token *newer than the one it used*, so many
callers failing at once still cause one refresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.bodies import TooLarge, read_limited
from bot.channels.wecom.settings import WeComSettings

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
MAX_MEDIA = 10 * 1024 * 1024


class WeComError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"wecom errcode={errcode} {errmsg}")
        self.errcode = errcode


class WeComApi:
    def __init__(
        self, settings: WeComSettings, http: aiohttp.ClientSession, margin: float = 300.0
    ) -> None:
        self.settings = settings
        self.http = http
        self.base = settings.api_base.rstrip("/") + "/cgi-bin/"
        self.margin = margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    async def token(self, rejected: str | None = None) -> str:
        """A valid access token; ``rejected`` is one WeCom just refused, so never return it."""
        loop = asyncio.get_running_loop()
        if self._token and self._token != rejected and loop.time() < self._expires_at:
            return self._token
        async with self._lock:
            if self._token and self._token != rejected and loop.time() < self._expires_at:
                return self._token  # someone refreshed while we waited
            params = {
                "corpid": self.settings.corp_id,
                "corpsecret": self.settings.secret.get_secret_value(),
            }
            async with self.http.get(self.base + "gettoken", params=params) as resp:
                data = await resp.json(content_type=None)
            self.token_fetches += 1
            if data.get("errcode", 0) != 0 or not data.get("access_token"):
                raise WeComError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
            expires_in = float(data.get("expires_in", 7200))
            self._token = str(data["access_token"])
            self._expires_at = loop.time() + max(expires_in - self.margin, expires_in / 2)
            log.info("wecom access token refreshed expires_in=%s", int(expires_in))
            return self._token

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        """One API call, retried once with a fresh token when WeCom says the token is bad.
        ``form`` is a factory because a FormData body can be sent only once."""
        token = await self.token()
        data: dict[str, Any] = {}
        for attempt in (1, 2):
            query = {**(params or {}), "access_token": token}
            body = form() if form else None
            async with self.http.request(
                method, self.base + path, params=query, json=json, data=body
            ) as resp:
                if resp.status >= 500:  # the far side is down: the sender says unavailable
                    resp.raise_for_status()
                data = await resp.json(content_type=None)
            code = int(data.get("errcode", 0))
            if code in TOKEN_ERRORS and attempt == 1:
                log.info("wecom token rejected errcode=%s, refreshing", code)
                token = await self.token(rejected=token)
                continue
            break
        return data

    async def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "message/send", json=payload)

    async def update_template_card(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Spend a response code on a template card (bot.channels.wecom.cards)."""
        return await self.call("POST", "message/update_template_card", json=payload)

    async def get_media(self, media_id: str) -> bytes:
        """Download a media file (an image sent to the app); raises WeComError on an API error."""
        token = await self.token()
        for attempt in (1, 2):
            params = {"access_token": token, "media_id": media_id}
            async with self.http.get(self.base + "media/get", params=params) as resp:
                kind = resp.headers.get("Content-Type", "")
                if resp.status == 200 and not kind.startswith(("application/json", "text/")):
                    try:
                        return await read_limited(resp.content, MAX_MEDIA)
                    except TooLarge:
                        raise WeComError(-2, "media larger than 10 MB") from None
                data = await resp.json(content_type=None)
            code = int(data.get("errcode", -1))
            if code in TOKEN_ERRORS and attempt == 1:
                token = await self.token(rejected=token)
                continue
            raise WeComError(code, str(data.get("errmsg", "")))
        raise WeComError(-1, "unreachable")

    async def upload_image(self, data: bytes, filename: str) -> str:
        def form() -> aiohttp.FormData:
            body = aiohttp.FormData()
            body.add_field(
                "media", data, filename=filename, content_type="application/octet-stream"
            )
            return body

        result = await self.call("POST", "media/upload", params={"type": "image"}, form=form)
        if int(result.get("errcode", 0)) != 0 or not result.get("media_id"):
            raise WeComError(int(result.get("errcode", -1)), str(result.get("errmsg", "")))
        return str(result["media_id"])
