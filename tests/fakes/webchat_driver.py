"""The web chat as a scenario driver: a browser (tests/webclient.py) on the real service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.fakes.drivers import Driver
from tests.webclient import WebChatClient, webchat_server


class WebChatDriver(Driver):
    name = "webchat"

    def __init__(self, server: Any, web: WebChatClient) -> None:
        self.web_server, self.web = server, web
        self.server = server.server
        self._buttons: list[dict[str, str]] = []

    @property
    def external_id(self) -> str:  # type: ignore[override]
        return self.web.cookies["cunbot_chat"].split(".")[0]

    def _texts(self, frames: list[dict[str, Any]]) -> list[str]:
        replies = [f for f in frames if f.get("type") == "reply"]
        for f in replies:
            if f.get("buttons"):
                self._buttons = f["buttons"]
        return [f.get("text", "") for f in replies]

    async def text(self, text: str) -> list[str]:
        return self._texts(await self.web.send(text))

    async def photo(self, data: bytes) -> list[str]:
        status, body = await self.web.upload(data, "visit.jpg", "image/jpeg")
        assert status == 200, body
        return self._texts(body["frames"])

    async def location(self, lat: float, lon: float, label: str) -> list[str]:
        return self._texts(await self.web.location(lat, lon, label))

    async def last_push(self) -> tuple[str, list[str]]:
        push = await self.web.next_push()
        self._buttons = push.get("buttons") or []
        return push.get("text", ""), [b["label"] for b in self._buttons]

    async def press(self, label: str) -> list[str]:
        [button] = [b for b in self._buttons if b["label"] == label]
        return self._texts(await self.web.press(button["payload"], label))


@asynccontextmanager
async def webchat_driver(database_url: str, tmp_path: Path, clock: Any) -> AsyncIterator[Driver]:
    async with webchat_server(database_url, tmp_path, clock) as server:
        await server.ready()  # the first message would wait for the FAQ index, past its timeout
        async with server.client() as web:
            yield WebChatDriver(server, web)
