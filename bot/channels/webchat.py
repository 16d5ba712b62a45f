"""The built-in web chat: a WeChat-style phone page at /chat over an aiohttp WebSocket.

Routes
    GET  /            redirect to /chat
    GET  /chat        the page (sets the browser cookie when missing)
    GET  /chat/ws     the WebSocket
    POST /chat/upload a photo, multipart/form-data: field ``photo`` (the file), optional ``id``
    GET  /media/{path} stored photos and thumbnails, only for a browser bound to a person

Identity
    Each browser gets a random id in the cookie ``cunbot_chat`` ("<id>.<hmac>", HMAC-SHA256 with
    the service secret; HttpOnly, SameSite=Lax). Binding is the normal chat command
    ``绑定 <邀请码>``, which links Identity(channel="webchat", external_id=<id>) to a person.

Client -> server (JSON text frames; ``id`` optional, 1-64 chars of [A-Za-z0-9_.:-]; a frame
resent with the same ``id`` is handled once)
    {"type": "text", "text": "...", "id": "c1"}                  1-2,000 characters
    {"type": "button", "payload": "visit:ok", "label": "确认", "id": "c2"}   label optional
    {"type": "location", "lat": 30.1, "lon": 120.2, "label": "村委会", "id": "c3"}

Server -> client
    {"type": "history", "bound": bool, "messages": [m, ...]}  first frame after connecting;
        m = {"from": "me"|"bot", "id", "text", "buttons", "image", "link", "at",
        "client_id": the id the page gave a message it sent, else null} (newest 50)
    {"type": "reply", "id", "reply_to", "final": bool, "text", "buttons": [{"label",
        "payload"}], "image": url|null, "link": url|null}   answers to a client frame; the
        last answer to a frame has "final": true
    {"type": "ack", "reply_to", "duplicate": true, "final": true}   a resent frame, already done
        (without "duplicate" when a handler had nothing to say)
    {"type": "push", "id": "push-<outbox id>", "text", "buttons", "image", "link"}  from the
        outbox, live; the same id may come twice (at-least-once), the page shows it once
    {"type": "status", "bound": true}                        this browser has just been bound
    {"type": "error", "text": "中文说明", "reply_to": id|null}   a rejected frame; the socket
        stays open

Upload answer (JSON): 200 {"ok": true, "image": url, "thumb": url, "frames": [reply frames]}
(the same frames are also pushed to every open socket of that browser), or
{"ok": false, "type": "error", "text": "中文说明"} with 401 (no valid cookie), 403 (browser not
bound), 400 (not multipart / no photo), 413 (over 10 MB), 415 (not a real JPEG/PNG/WebP).

Limits: text over 2,000 characters, frames over 32,000 characters, binary frames, bad JSON,
unknown types, missing or invalid fields, and more than ``frames_per_second`` frames per
second (burst ``burst``) from one socket each get an error frame; uploads over 10 MB or not a
real JPEG/PNG/WebP get an error answer. Only a frame over 1 MB closes the socket (code 1009,
aiohttp's own guard). On shutdown every socket is closed with 1001 (going away); the page
reconnects and resends, with the same ids, what is neither answered nor in the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import CLOCK, CONFIG, DELIVERY, INBOUND, SENDERS, SESSIONMAKER, spawn
from bot.channels.webchat_protocol import (
    CLIENT_ID,
    TEXTS,
    FrameError,
    TokenBucket,
    WebChatLimits,
    cookie_value,
    frame,
    history_message,
    inbound_body,
    media_url,
    parse_frame,
    read_cookie,
)
from core.channel import ChannelLimits, SendResult
from core.clock import Clock
from core.messages import Incoming, Reply
from storage import photos as photo_store
from storage import webchat as store
from storage.media import ImageRejected, save_image
from storage.people import PersonDTO

log = logging.getLogger(__name__)

CHANNEL = store.CHANNEL
COOKIE = "cunbot_chat"
COOKIE_MAX_AGE = 365 * 24 * 3600
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class WebChatHub:
    """Open sockets by browser id, and the steps every inbound message goes through."""

    def __init__(self, app: web.Application, secret: bytes, limits: WebChatLimits) -> None:
        self.app = app
        self.secret = secret
        self.limits = limits
        self.sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self.closing = False

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

    async def bound(self, external_id: str) -> store.WebIdentity | None:
        async with self.sessionmaker() as session:
            return await store.identity(session, external_id)

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
            ident = await store.identity(session, external_id)
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
            ident = await store.identity(session, incoming.sender_id)
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


# --- handlers -------------------------------------------------------------------------------
HUB = web.AppKey("webchat_hub", WebChatHub)
PAGE = web.AppKey("webchat_page", jinja2.Template)


async def index(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/chat")


async def chat_page(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    html = request.app[PAGE].render(title="村务助手")
    response = web.Response(text=html, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    if hub.browser_id(request) is None:
        hub.set_cookie(response, secrets.token_urlsafe(18))
    return response


async def chat_ws(request: web.Request) -> web.WebSocketResponse:
    hub = request.app[HUB]
    limits = hub.limits
    external_id = hub.browser_id(request)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=limits.max_ws_bytes)
    if external_id is None:
        external_id = secrets.token_urlsafe(18)
        hub.set_cookie(ws, external_id)
    await ws.prepare(request)
    hub.add(external_id, ws)
    bucket = TokenBucket(limits.frames_per_second, limits.burst)
    try:
        history = await hub.history_frame(external_id)
        bound = history["bound"]
        await safe_send(ws, history)
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            if not bucket.take():
                if not bucket.warned:
                    bucket.warned = True
                    log.warning("webchat socket throttled browser=%s", external_id[:8])
                    await safe_send(ws, {"type": "error", "text": TEXTS["too_fast"]})
                continue
            if msg.type == WSMsgType.BINARY:
                await safe_send(ws, {"type": "error", "text": TEXTS["binary"], "reply_to": None})
                continue
            if hub.closing:
                await safe_send(ws, {"type": "error", "text": TEXTS["shutting_down"]})
                continue
            try:
                parsed = parse_frame(msg.data, limits.max_frame_chars)
            except FrameError as err:
                log.info("webchat frame rejected browser=%s reason=%s", external_id[:8], err.key)
                await safe_send(ws, {"type": "error", "text": err.text, "reply_to": err.reply_to})
                continue
            incoming = hub.incoming(external_id, parsed.id, parsed.kind, **parsed.fields)
            for out in await hub.process(incoming, parsed.id, parsed.label):
                await safe_send(ws, out)
            if not bound and await hub.bound(external_id):
                bound = True
                await safe_send(ws, {"type": "status", "bound": True})
    finally:
        hub.discard(external_id, ws)
    return ws


def _error(status: int, key: str) -> web.Response:
    return web.json_response({"ok": False, "type": "error", "text": TEXTS[key]}, status=status)


async def upload(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    external_id = hub.browser_id(request)
    if external_id is None:
        return _error(401, "no_cookie")
    if await hub.bound(external_id) is None:
        return _error(403, "upload_unbound")
    if not (request.content_type or "").startswith("multipart/form-data"):
        return _error(400, "upload_not_multipart")
    limit = hub.limits.max_upload
    data: bytearray | None = None
    too_big = False
    cid: str | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name == "photo" and data is None:
                data = bytearray()
                # Read everything (so the client sees our answer, not a reset) but keep at
                # most limit + 1 bytes.
                while chunk := await part.read_chunk(256 * 1024):
                    if len(data) <= limit:
                        data.extend(chunk[: limit + 1 - len(data)])
                    if len(data) > limit:
                        too_big = True
            elif part.name == "id":
                value = (await part.read(decode=True))[:64].decode("utf-8", "replace")
                cid = value if CLIENT_ID.match(value) else None
            else:
                await part.release()
    except (ValueError, AssertionError, KeyError):
        return _error(400, "upload_not_multipart")
    if too_big:
        return _error(413, "upload_too_big")
    if not data:
        return _error(400, "upload_missing")
    try:
        stored = await save_image(request.app[CONFIG].core.media_dir, bytes(data), limit)
    except ImageRejected as rejected:
        log.info("upload rejected browser=%s…: %s", external_id[:6], rejected.reason)
        return web.json_response(
            {"ok": False, "type": "error", "text": rejected.reason}, status=415
        )
    cid = cid or uuid.uuid4().hex
    incoming = hub.incoming(external_id, cid, "photo", photo=stored.to_dict())
    frames = await hub.process(incoming, cid)
    await hub.push(external_id, frames)
    return web.json_response(
        {
            "ok": True,
            "image": media_url(stored.path),
            "thumb": media_url(stored.thumb_path),
            "frames": frames,
        }
    )


async def media(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    external_id = hub.browser_id(request)
    bound = await hub.bound(external_id) if external_id is not None else None
    if bound is None:
        raise web.HTTPForbidden(text=TEXTS["media_forbidden"])
    root = request.app[CONFIG].core.media_dir
    rel = request.match_info["path"]
    async with hub.sessionmaker() as session:
        allowed = await photo_store.may_view_photo(session, bound.person_id, rel)
    if allowed is None:
        raise web.HTTPNotFound()
    if not allowed:
        raise web.HTTPForbidden(text=TEXTS["media_forbidden"])

    def locate() -> Path | None:
        base = root.resolve()
        target = (base / rel).resolve()
        return target if target.is_relative_to(base) and target.is_file() else None

    target = await asyncio.to_thread(locate)
    if target is None:
        raise web.HTTPNotFound()
    return web.FileResponse(target, headers={"Cache-Control": "private, max-age=86400"})


# --- the outbox sender ----------------------------------------------------------------------
class WebChatSender:
    """Delivers outbox rows: stored in the browser's history, pushed live to open pages."""

    name = CHANNEL
    limits = ChannelLimits()

    def __init__(self, hub: WebChatHub) -> None:
        self.hub = hub

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult:
        async with self.hub.sessionmaker() as session, session.begin():
            ident = await store.identity(session, external_id)
            if ident is None:
                return SendResult(ok=False, permanent=True, error="webchat browser not bound")
            # At-least-once delivery may send a row twice; the history keeps it once.
            if outbox_id is None or not await store.has_outbox_message(
                session, ident.identity_id, outbox_id
            ):
                await store.add_message(
                    session, ident.identity_id, "out", body, self.hub.clock.now(), outbox_id
                )
        push_id = f"push-{outbox_id}" if outbox_id is not None else f"push-{uuid.uuid4().hex}"
        reached = await self.hub.push(external_id, [frame("push", body, id=push_id)])
        return SendResult(ok=True, delivered=reached > 0)


def setup(app: web.Application) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        config = app[CONFIG]
        secret = await asyncio.to_thread(config.secret_key)
        limits = WebChatLimits(
            frames_per_second=config.core.webchat_rate, burst=config.core.webchat_burst
        )
        hub = WebChatHub(app, secret, limits)
        app[HUB] = hub
        app[PAGE] = env.get_template("chat.html")
        app[SENDERS][CHANNEL] = WebChatSender(hub)
        yield
        # Messages still being handled finish in bot.app.in_flight, which runs after this.
        await hub.close_all()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/", index)
    app.router.add_get("/chat", chat_page)
    app.router.add_get("/chat/ws", chat_ws)
    app.router.add_post("/chat/upload", upload)
    app.router.add_get("/media/{path:.+}", media)
    app.router.add_static("/chat/static/", WEB_DIR / "static", name="webchat_static")


async def _close_sockets(app: web.Application) -> None:
    hub = app.get(HUB)
    if hub is not None:
        await hub.close_all()
