"""Per-socket guards of the web chat: telling the page which frames the flood guard dropped
(at most one error frame per second per socket), and what an unbound visitor may store."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.channels.webchat.protocol import TEXTS

# Unbound visitors: what the inbox keeps of one browser id per rolling day. Beyond either
# figure a message is answered but not stored (bind attempts still go through while the
# browser is not locked out; see services.people.bind_wait).
UNBOUND_WINDOW = timedelta(days=1)
UNBOUND_MAX_MESSAGES = 30
UNBOUND_MAX_CHARS = 5_000
# A bind attempt an over-quota visitor may still make: 绑定 plus a code (codes are <= 32).
BIND_TEXT_MAX = 64

# The id of a frame the flood guard dropped, found without parsing the JSON (a flood must stay
# cheap, and deeply nested JSON must not reach the parser).
_FRAME_ID = re.compile(r'"id"\s*:\s*"([A-Za-z0-9_.:-]{1,64})"')
MAX_REPORTED = 200  # ids one error frame carries at most


def client_address(request: web.Request) -> str | None:
    """The visitor's address for the binding limits. Behind a reverse proxy on this machine or
    a private network (deploy/nginx.conf) the peer is the proxy, so the last hop it appended to
    X-Forwarded-For is taken; a public peer's header is ignored (it could be forged)."""
    peer = request.remote
    forwarded = request.headers.get("X-Forwarded-For", "")
    if not peer or not forwarded:
        return peer
    try:
        trusted = ipaddress.ip_address(peer).is_private
        last = forwarded.rsplit(",", 1)[-1].strip()
        return str(ipaddress.ip_address(last)) if trusted else peer
    except ValueError:
        return peer


def frame_id(raw: str | bytes) -> str | None:
    if not isinstance(raw, str):
        return None
    found = _FRAME_ID.search(raw, 0, 4096)
    return found.group(1) if found else None


class DropNotice:
    """Collects the ids of dropped frames and sends them in one error frame at most every
    ``interval`` seconds: ``{"type": "error", "text", "reply_to": first id, "dropped": [ids]}``."""

    def __init__(
        self, send: Callable[[dict[str, Any]], Awaitable[bool]], interval: float = 1.0
    ) -> None:
        self.send = send
        self.interval = interval
        self.ids: list[str | None] = []
        self.last = -interval
        self.task: asyncio.Task[None] | None = None
        self.sent = 0

    def add(self, cid: str | None) -> None:
        if len(self.ids) < MAX_REPORTED:
            self.ids.append(cid)
        if self.task is None:
            wait = max(0.0, self.last + self.interval - time.monotonic())
            self.task = asyncio.create_task(self._flush(wait), name="webchat:dropped")

    async def _flush(self, wait: float) -> None:
        await asyncio.sleep(wait)
        ids, self.ids = self.ids, []
        self.task = None
        self.last = time.monotonic()
        named = [i for i in ids if i is not None]
        self.sent += 1
        await self.send(
            {
                "type": "error",
                "text": TEXTS["too_fast"],
                "reply_to": named[0] if named else None,
                "dropped": named,
            }
        )

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def over_quota(texts: list[str], new_text: str) -> bool:
    """True when an unbound visitor who stored ``texts`` today may not store ``new_text``."""
    if len(texts) >= UNBOUND_MAX_MESSAGES:
        return True
    return sum(map(len, texts)) + len(new_text) > UNBOUND_MAX_CHARS
