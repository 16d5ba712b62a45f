"""One web chat WebSocket: the frame loop (flood guard, parsing, the unbound quota, handling)
and the session renewal when binding changes. The protocol is in bot/channels/webchat/channel.py."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from bot.channels.webchat.guard import DropNotice, client_address, frame_id
from bot.channels.webchat.hub import WebChatHub, new_browser_id, safe_send
from bot.channels.webchat.protocol import TEXTS, FrameError, TokenBucket, parse_frame
from handlers.router import CLIENT_ADDRESS

log = logging.getLogger(__name__)


class ChatSocket:
    def __init__(self, hub: WebChatHub, ws: web.WebSocketResponse, external_id: str) -> None:
        self.hub = hub
        self.ws = ws
        self.external_id = external_id
        self.bound = False
        self.address: str | None = None
        self.bucket = TokenBucket(hub.limits.frames_per_second, hub.limits.burst)
        self.dropped = DropNotice(self.send)

    async def send(self, data: dict[str, Any]) -> bool:
        return await safe_send(self.ws, data)

    async def run(self) -> None:
        hub = self.hub
        hub.add(self.external_id, self.ws)
        try:
            history = await hub.history_frame(self.external_id)
            self.bound = history["bound"]
            await self.send(history)
            async for msg in self.ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                await self.on_message(msg)
        finally:
            await self.dropped.close()
            hub.discard(self.external_id, self.ws)

    async def on_message(self, msg: WSMessage) -> None:
        if not self.bucket.take():
            if not self.bucket.warned:
                self.bucket.warned = True
                log.warning("webchat socket throttled browser=%s", self.external_id[:8])
            self.dropped.add(frame_id(msg.data))
            return
        if msg.type == WSMsgType.BINARY:
            await self.send({"type": "error", "text": TEXTS["binary"], "reply_to": None})
            return
        if self.hub.closing:
            await self.send({"type": "error", "text": TEXTS["shutting_down"]})
            return
        try:
            parsed = parse_frame(msg.data, self.hub.limits.max_frame_chars)
        except FrameError as err:
            log.info("webchat frame rejected browser=%s reason=%s", self.external_id[:8], err.key)
            await self.send({"type": "error", "text": err.text, "reply_to": err.reply_to})
            return
        if not self.bound:
            refusal = await self.hub.unbound_refusal(self.external_id, parsed, self.address)
            if refusal is not None:
                await self.send(_answer(parsed.id, refusal))
                return
        hub = self.hub
        incoming = hub.incoming(self.external_id, parsed.id, parsed.kind, **parsed.fields)
        frames = await hub.process(incoming, parsed.id, parsed.label)
        # Binding changed only by a bind text (unbound) or a logout button (bound).
        if parsed.kind == ("button" if self.bound else "text"):
            now_bound = await hub.bound(self.external_id) is not None
            if now_bound != self.bound:
                self.bound = now_bound
                self.external_id = await hub.renew(self.ws, self.external_id, now_bound)
        for out in frames:
            await self.send(out)


def _answer(client_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "reply",
        "id": f"{client_id}.0",
        "reply_to": client_id,
        "final": True,
        "text": text,
        "buttons": [],
        "image": None,
        "link": None,
    }


async def serve(request: web.Request, hub: WebChatHub) -> web.WebSocketResponse:
    limits = hub.limits
    external_id = hub.browser_id(request)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=limits.max_ws_bytes)
    if external_id is None:
        external_id = new_browser_id()
        hub.set_cookie(ws, external_id)
    await ws.prepare(request)
    sock = ChatSocket(hub, ws, external_id)
    sock.address = client_address(request)
    # Binding attempts are limited per address too (handlers.router -> services.people.bind);
    # the spawned handling task copies this context.
    CLIENT_ADDRESS.set(sock.address)
    await sock.run()
    return ws
