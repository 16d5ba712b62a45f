"""Drive the conversation core the way a channel does, without a transport.

    chat = ChatDriver(sessionmaker, clock, rules)
    replies = await chat.send("wx-1", "绑定 ABCD2345")

Every message goes through bot.inbound.Inbound: the inbox, the router and the handlers, on
the real database. Transport tests (web chat, WeCom, Telegram) use the real channels instead.
"""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.inbound import Inbound
from core.clock import FixedClock
from core.messages import Incoming, Reply
from core.rules import Rules
from handlers.context import Services
from handlers.features import build_registry

_ids = itertools.count(1)


class ChatDriver:
    def __init__(
        self,
        sm: async_sessionmaker,
        clock: FixedClock,
        rules: Rules,
        channel: str = "test",
        services: Services | None = None,
    ) -> None:
        self.clock = clock
        self.channel = channel
        self.inbound = Inbound(sm, clock, rules, build_registry(), services or Services())

    def incoming(
        self, sender: str, kind: str = "text", message_id: str | None = None, **fields: Any
    ) -> Incoming:
        return Incoming(
            channel=self.channel,
            sender_id=sender,
            message_id=message_id or f"m{next(_ids)}",
            kind=kind,  # type: ignore[arg-type]
            ts=self.clock.now(),
            **fields,
        )

    async def send(self, sender: str, text: str, message_id: str | None = None) -> list[Reply]:
        return (
            await self.inbound.receive(self.incoming(sender, text=text, message_id=message_id))
            or []
        )

    async def press(self, sender: str, payload: str) -> list[Reply]:
        return (
            await self.inbound.receive(self.incoming(sender, kind="button", payload=payload)) or []
        )

    async def photo(self, sender: str, stored: dict[str, Any]) -> list[Reply]:
        return await self.inbound.receive(self.incoming(sender, kind="photo", photo=stored)) or []

    async def location(self, sender: str, lat: float, lon: float, label: str = "") -> list[Reply]:
        return (
            await self.inbound.receive(
                self.incoming(sender, kind="location", lat=lat, lon=lon, label=label)
            )
            or []
        )

    async def dispatch(self, sender: str, text: str) -> str:
        """发任务 / 发通知 in one message, then 确认发送 on its preview (when one is shown): the
        texts of every reply, joined."""
        replies = await self.send(sender, text)
        send = [b.payload for r in replies for b in r.buttons if b.payload.startswith("bcast:send")]
        if send:
            replies = [*replies, *(await self.press(sender, send[0]))]
        return "\n".join(r.text for r in replies)

    async def say(self, sender: str, text: str) -> str:
        """Send text and return all reply texts joined (for simple assertions)."""
        return "\n".join(r.text for r in await self.send(sender, text))
