"""The web chat hub: open sockets by browser id, the signed browser cookie, and the steps
every inbound web chat message goes through (inbox -> router -> history, in one transaction).
The protocol is documented in bot/channels/webchat/channel.py."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
from collections import defaultdict
from typing import Any

from aiohttp import WSCloseCode, web

from bot.appkeys import CLOCK, CONFIG, DELIVERY, INBOUND, SESSIONMAKER
from bot.channels.base import spawn
from bot.channels.webchat import CHANNEL, guard
from bot.channels.webchat.protocol import (
    ClientFrame,
    WebChatLimits,
    cookie_value,
    frame,
    history_message,
    inbound_body,
    read_cookie,
    sign,
)
from bot.channels.webchat.sender import WebChatSender
from core.clock import Clock
from core.messages import Incoming, Reply
from handlers import router
from handlers import texts as chat_texts
from services import people
from storage import webchat as store
from storage.people import PersonDTO
from storage.session import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

COOKIE = "cunbot_chat"
COOKIE_MAX_AGE = 365 * 24 * 3600
SESSION_TOKEN_TTL = 600  # seconds a page has to exchange a session token for its cookie


def new_browser_id() -> str:
    return secrets.token_urlsafe(18)


class WebChatHub:
    """Open sockets by browser id, and the steps every inbound message goes through."""

    name = CHANNEL

    def __init__(self, app: web.Application, secret: bytes, limits: WebChatLimits) -> None:
        self.app = app
        self.secret = secret
        self.limits = limits
        self.sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self.closing = False
        self.sender = WebChatSender(self)

    async def start(self) -> None:
        """Pages connect to us: nothing to start."""

    async def stop(self) -> None:
        # Messages still being handled finish in bot.app.in_flight, which runs after this.
        await self.close_all()

    @property
    def sessionmaker(self) -> async_sessionmaker:
        return self.app[SESSIONMAKER]

    @property
    def clock(self) -> Clock:
        return self.app[CLOCK]

    # --- cookies --------------------------------------------------------------------------
    def browser_id(self, request: web.Request) -> str | None:
        return read_cookie(self.secret, request.cookies.get(COOKIE))

    def set_cookie(self, response: web.StreamResponse, external_id: str) -> None:
        response.set_cookie(
            COOKIE,
            cookie_value(self.secret, external_id),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=self.app[CONFIG].public_url.startswith("https://"),
            path="/",
        )

    # --- sessions: a fresh browser id whenever binding changes ------------------------------
    def session_token(self, external_id: str) -> str:
        """A short-lived token the page exchanges (POST /chat/session) for the cookie of
        ``external_id``: a WebSocket cannot set cookies. Signed for this purpose only."""
        expires = str(int(self.clock.now().timestamp()) + SESSION_TOKEN_TTL)
        return f"{external_id}.{expires}.{sign(self.secret, f'session:{external_id}:{expires}')}"

    def read_session_token(self, token: object) -> str | None:
        if not isinstance(token, str) or len(token) > 200:
            return None
        external_id, _, rest = token.partition(".")
        expires, _, sig = rest.partition(".")
        if not external_id or not expires.isdigit() or len(expires) > 12:
            return None
        good = sign(self.secret, f"session:{external_id}:{expires}")
        if not hmac.compare_digest(sig, good):
            return None
        if int(expires) < self.clock.now().timestamp():
            return None
        return external_id

    async def renew(self, ws: web.WebSocketResponse, old: str, bound_now: bool) -> str:
        """After this socket bound (or logged out) the browser gets a new id: a planted or
        stolen old id maps to nobody. The socket moves to the new id; its page is told."""
        new = new_browser_id()
        if bound_now:
            async with self.sessionmaker() as session, session.begin():
                await store.move_identity(session, CHANNEL, old, new)
        self.discard(old, ws)
        self.add(new, ws)
        log.info("webchat session renewed browser=%s… bound=%s", old[:6], bound_now)
        await safe_send(
            ws, {"type": "status", "bound": bound_now, "session": self.session_token(new)}
        )
        return new

    async def unbound_refusal(
        self, external_id: str, parsed: ClientFrame, address: str | None
    ) -> str | None:
        """The answer for an unbound visitor's frame that is not stored (over the daily
        quota), or ``None`` to handle it normally."""
        text = str(parsed.fields.get("text") or "")
        now = self.clock.now()
        async with self.sessionmaker() as session:
            stored = await store.recent_inbox_texts(
                session,
                CHANNEL,
                external_id,
                now - guard.UNBOUND_WINDOW,
                guard.UNBOUND_MAX_MESSAGES,
            )
            if not guard.over_quota(stored, text):
                return None
            if len(text) <= guard.BIND_TEXT_MAX and router.bind_code(text):
                wait = await people.bind_wait(
                    session, channel=CHANNEL, external_id=external_id, now=now, address=address
                )
                if wait is None:
                    return None  # a bind attempt: the lockout limits these
                return people.BIND_LOCKED.format(minutes=wait)
        log.info("webchat unbound quota reached browser=%s…: not stored", external_id[:6])
        return chat_texts.UNBOUND

    async def bound(self, external_id: str) -> store.WebIdentity | None:
        async with self.sessionmaker() as session:
            return await store.identity(session, CHANNEL, external_id)

    # --- sockets --------------------------------------------------------------------------
    def add(self, external_id: str, ws: web.WebSocketResponse) -> None:
        self.sockets[external_id].add(ws)

    def discard(self, external_id: str, ws: web.WebSocketResponse) -> None:
        socks = self.sockets.get(external_id)
        if socks is not None:
            socks.discard(ws)
            if not socks:
                self.sockets.pop(external_id, None)

    async def push(self, external_id: str, frames: list[dict[str, Any]]) -> int:
        """Send frames to every open socket of a browser; returns how many sockets got them."""
        reached = 0
        for ws in list(self.sockets.get(external_id, ())):
            if all([await safe_send(ws, f) for f in frames]):
                reached += 1
        return reached

    async def close_all(self, _app: web.Application | None = None) -> None:
        self.closing = True
        for socks in list(self.sockets.values()):
            for ws in list(socks):
                with contextlib.suppress(Exception):
                    await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def history_frame(self, external_id: str) -> dict[str, Any]:
        async with self.sessionmaker() as session:
            ident = await store.identity(session, CHANNEL, external_id)
            entries = (
                await store.history(session, ident.identity_id, self.limits.history)
                if ident
                else []
            )
        return {
            "type": "history",
            "bound": ident is not None,
            "messages": [history_message(e) for e in entries],
        }

    # --- inbound --------------------------------------------------------------------------
    def incoming(self, external_id: str, client_id: str, kind: str, **fields: Any) -> Incoming:
        return Incoming(
            channel=CHANNEL,
            sender_id=external_id,
            # Client ids are only unique per browser; the inbox key is global.
            message_id=f"{external_id}:{client_id}",
            kind=kind,  # type: ignore[arg-type]
            ts=self.clock.now(),
            **fields,
        )

    async def process(
        self, incoming: Incoming, client_id: str, label: str = ""
    ) -> list[dict[str, Any]]:
        """Inbox -> router -> history; returns the frames answering this message. Runs as a
        tracked background task so that shutdown waits for it even if the socket is gone."""
        task = spawn(self.app, self._process(incoming, client_id, label), f"webchat:{client_id}")
        return await asyncio.shield(task)

    async def _process(
        self, incoming: Incoming, client_id: str, label: str
    ) -> list[dict[str, Any]]:
        async def remember(
            session: AsyncSession, inc: Incoming, replies: list[Reply], person: PersonDTO | None
        ) -> None:
            await self._remember(session, inc, replies, person, label)

        replies = await self.app[INBOUND].receive(incoming, after=remember)
        if replies is None:
            return [{"type": "ack", "reply_to": client_id, "duplicate": True, "final": True}]
        delivery = self.app.get(DELIVERY)
        if delivery is not None:
            delivery.wake.set()  # pushes the handler queued go out now, not at the next poll
        if not replies:
            return [{"type": "ack", "reply_to": client_id, "final": True}]
        last = len(replies) - 1
        return [
            frame(
                "reply",
                r.to_dict(),
                id=f"{client_id}.{i}",
                reply_to=client_id,
                final=i == last,
            )
            for i, r in enumerate(replies)
        ]

    async def _remember(
        self,
        session: AsyncSession,
        incoming: Incoming,
        replies: list[Reply],
        person: PersonDTO | None,
        label: str,
    ) -> None:
        """History of bound browsers, written in the message's own transaction."""
        if person is not None and person.identity_id is not None:
            identity_id = person.identity_id  # loaded with the sender: no query
        else:  # just bound, or after a refusal
            ident = await store.identity(session, CHANNEL, incoming.sender_id)
            if ident is None:
                return  # unbound browsers have no history
            identity_id = ident.identity_id
        now = self.clock.now()
        await store.add_messages(
            session,
            identity_id,
            [("in", inbound_body(incoming, label))] + [("out", r.to_dict()) for r in replies],
            now,
        )


async def safe_send(ws: web.WebSocketResponse, data: dict[str, Any]) -> bool:
    """Send unless the socket has gone; a closed page is not an error."""
    if ws.closed:
        return False
    try:
        await ws.send_str(json.dumps(data, ensure_ascii=False))
    except (ConnectionError, RuntimeError):
        return False
    return True
