"""DingTalk server API client: the access token (``/v1.0/oauth2/accessToken``), calls with the
``x-acs-dingtalk-access-token`` header, and the robot's file download.

The token is cached until shortly before ``expireIn`` and refreshed single-flight: callers
that find it stale wait on one lock and the first one in fetches; a caller whose token was
refused (HTTP 401 / ``InvalidAuthentication``) asks for a token *newer than the one it used*,
so many callers failing at once still cause one refresh.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from bot.channels.bodies import read_limited
from bot.channels.dingtalk.settings import DingTalkSettings

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-acs-dingtalk-access-token"
TOKEN_CODES = frozenset({"InvalidAuthentication", "invalidAuthentication"})
MAX_ANSWER = 256 * 1024  # an API answer is a few hundred bytes


class DingTalkError(Exception):
    """An API answer that is not a success: the HTTP status and DingTalk's ``code``."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"dingtalk status={status} code={code} {message}"[:500])
        self.status = status
        self.code = code


class DingTalkApi:
    def __init__(
        self, settings: DingTalkSettings, http: aiohttp.ClientSession, margin: float = 300.0
    ) -> None:
        self.settings = settings
        self.http = http
        self.base = settings.api_base.rstrip("/")
        self.margin = margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    def _fresh(self, rejected: str | None) -> bool:
        now = asyncio.get_running_loop().time()
        return bool(self._token) and self._token != rejected and now < self._expires_at

    async def token(self, rejected: str | None = None) -> str:
        """A valid access token; ``rejected`` is one DingTalk just refused, so never return it."""
        if self._fresh(rejected):
            assert self._token is not None
            return self._token
        async with self._lock:
            if self._fresh(rejected):  # someone refreshed while we waited
                assert self._token is not None
                return self._token
            body = {
                "appKey": self.settings.app_key,
                "appSecret": self.settings.app_secret.get_secret_value(),
            }
            async with self.http.post(self.base + "/v1.0/oauth2/accessToken", json=body) as resp:
                status = resp.status
                if status >= 500:
                    resp.raise_for_status()
                data = await _json(resp)
            self.token_fetches += 1
            if status != 200 or not data.get("accessToken"):
                raise DingTalkError(status, str(data.get("code", "")), str(data.get("message", "")))
            expires_in = float(data.get("expireIn", 7200))
            self._token = str(data["accessToken"])
            loop = asyncio.get_running_loop()
            self._expires_at = loop.time() + max(expires_in - self.margin, expires_in / 2)
            log.info("dingtalk access token refreshed expires_in=%s", int(expires_in))
            return self._token

    async def call(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST one API call; retried once with a fresh token when DingTalk refuses the token.
        A 5xx raises (the sender says unavailable); other answers come back as (status, json)."""
        token = await self.token()
        for attempt in (1, 2):
            headers = {TOKEN_HEADER: token}
            async with self.http.post(self.base + path, json=body, headers=headers) as resp:
                status = resp.status
                if status >= 500:
                    resp.raise_for_status()
                data = await _json(resp)
            if attempt == 1 and (status == 401 or data.get("code") in TOKEN_CODES):
                log.info("dingtalk token refused status=%s, refreshing", status)
                token = await self.token(rejected=token)
                continue
            return status, data
        raise AssertionError("unreachable")

    async def batch_send(
        self, user: str, msg_key: str, msg_param: str
    ) -> tuple[int, dict[str, Any]]:
        body = {
            "robotCode": self.settings.robot,
            "userIds": [user],
            "msgKey": msg_key,
            "msgParam": msg_param,
        }
        return await self.call("/v1.0/robot/oToMessages/batchSend", body)

    async def download(self, download_code: str, limit: int) -> bytes:
        """The bytes of a file sent to the robot: the download code buys a short-lived URL.
        Raises DingTalkError for a refused code, TooLarge beyond ``limit`` bytes."""
        body = {"downloadCode": download_code, "robotCode": self.settings.robot}
        status, data = await self.call("/v1.0/robot/messageFiles/download", body)
        url = data.get("downloadUrl")
        if status != 200 or not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise DingTalkError(status, str(data.get("code", "")), str(data.get("message", "")))
        async with self.http.get(url) as resp:
            if resp.status != 200:
                raise DingTalkError(resp.status, "download", "file download refused")
            return await read_limited(resp.content, limit)


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """The answer as a JSON object; anything else (a proxy's HTML page) is a ValueError."""
    raw = await read_limited(resp.content, MAX_ANSWER)
    data = json.loads(raw or b"{}")
    if not isinstance(data, dict):
        raise ValueError("dingtalk answer is not a JSON object")
    return data
