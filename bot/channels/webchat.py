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
        m = {"from": "me"|"bot", "id", "text", "buttons", "image", "link", "at"} (newest 50)
    {"type": "reply", "id", "reply_to", "final": bool, "text", "buttons": [{"label",
        "payload"}], "image": url|null, "link": url|null}   answers to a client frame; the
        last answer to a frame has "final": true
    {"type": "ack", "reply_to", "duplicate": true, "final": true}   a resent frame, already done
    {"type": "push", "id": "push-<outbox id>", "text", "buttons", "image", "link"}  from the
        outbox, live; the same id may come twice (at-least-once), the page shows it once
    {"type": "status", "bound": true}                        this browser has just been bound
    {"type": "error", "text": "中文说明", "reply_to": id|null}   a rejected frame; the socket
        stays open

Upload answer (JSON): 200 {"ok": true, "image": url, "thumb": url, "frames": [reply frames]}
(the same frames are also pushed to every open socket of that browser), or 4xx
{"ok": false, "type": "error", "text": "中文说明"}.

Limits: text over 2,000 characters, frames over 32,000 characters, binary frames, bad JSON,
unknown types, missing or invalid fields, and more than ``frames_per_second`` frames per
second (burst ``burst``) from one socket each get an error frame; uploads over 10 MB or not a
real JPEG/PNG/WebP get an error answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.app import BACKGROUND, CLOCK, CONFIG, DELIVERY, INBOUND, SENDERS, SESSIONMAKER, spawn
from handlers.messages import MAX_TEXT, Incoming, Reply
from storage import webchat as store
from storage.clock import Clock
from storage.media import MAX_IMAGE_BYTES, ImageRejected, save_image
from tasks.delivery import ChannelLimits, SendResult

log = logging.getLogger(__name__)

CHANNEL = store.CHANNEL
COOKIE = "cunbot_chat"
COOKIE_MAX_AGE = 365 * 24 * 3600
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# User-facing text of the web chat, in one place.
TEXTS = {
    "bad_json": "消息格式不对（不是 JSON），请刷新页面后再试。",
    "not_object": "消息格式不对，请刷新页面后再试。",
    "unknown_type": "不认识的消息类型，请刷新页面后再试。",
    "bad_id": "消息编号格式不对，请刷新页面后再试。",
    "empty_text": "消息是空的，请输入内容后再发送。",
    "too_long": f"消息太长了（最多 {MAX_TEXT} 字），请分几条发送。",
    "frame_too_big": "这条消息太大了，请分几条发送。",
    "binary": "不支持这种消息。发照片请点「＋」上传。",
    "bad_button": "按钮数据不对，请重新点一下按钮。",
    "bad_location": "位置数据不对，请重新点「发送位置」。",
    "too_fast": "发送太快了，请稍等几秒再发。",
    "no_cookie": "页面已过期，请刷新页面后再试。",
    "upload_unbound": "请先绑定身份再发照片：发送「绑定 邀请码」。",
    "upload_not_multipart": "上传格式不对，请在页面上点「＋」选择照片。",
    "upload_missing": "没有收到照片，请重新选择照片。",
    "upload_too_big": f"照片太大了，请发送 {MAX_IMAGE_BYTES // 1024 // 1024} MB 以内的照片。",
    "media_forbidden": "请先在村务助手里绑定身份，才能查看照片。",
    "shutting_down": "服务正在重启，请稍后再发。",
}


@dataclass
class WebChatLimits:
    max_frame_chars: int = 32_000
    max_ws_bytes: int = 1024 * 1024  # beyond this aiohttp closes the socket (1009)
    frames_per_second: float = 5.0
    burst: int = 20
    max_upload: int = MAX_IMAGE_BYTES
    history: int = store.HISTORY_LIMIT


class TokenBucket:
    """Per-socket frame budget: ``burst`` frames at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.warned = False

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.warned = False
            return True
        return False


class FrameError(ValueError):
    def __init__(self, key: str, reply_to: str | None = None) -> None:
        super().__init__(key)
        self.text = TEXTS[key]
        self.reply_to = reply_to


def sign(key: bytes, external_id: str) -> str:
    return hmac.new(key, external_id.encode(), hashlib.sha256).hexdigest()[:32]


def cookie_value(key: bytes, external_id: str) -> str:
    return f"{external_id}.{sign(key, external_id)}"


def read_cookie(key: bytes, value: str | None) -> str | None:
    """The browser id in a signed cookie, or ``None`` when missing or forged."""
    if not value or len(value) > 200:
        return None
    external_id, _, sig = value.rpartition(".")
    if not external_id or not hmac.compare_digest(sig, sign(key, external_id)):
        return None
    return external_id


def media_url(path: str | None) -> str | None:
    if not path:
        return None
    if path.startswith(("http://", "https://", "/")):
        return path
    return "/media/" + path


def frame(kind: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A reply or push frame from a ``Reply.to_dict()`` body."""
    return {
        "type": kind,
        "text": body.get("text", ""),
        "buttons": [
            {"label": b["label"], "payload": b["payload"]} for b in body.get("buttons", ())
        ],
        "image": media_url(body.get("image")),
        "link": body.get("link"),
        **extra,
    }


def _inbound_body(incoming: Incoming, label: str = "") -> dict[str, Any]:
    """How a message the person sent is kept in the history."""
    if incoming.kind == "photo" and incoming.photo:
        return {"kind": "photo", "image": incoming.photo.get("path"), "text": ""}
    if incoming.kind == "location":
        return {
            "kind": "location",
            "text": f"📍 {incoming.label or '我的位置'}（{incoming.lat:.5f}, {incoming.lon:.5f}）",
        }
    if incoming.kind == "button":
        return {"kind": "button", "text": label or incoming.payload}
    return {"kind": "text", "text": incoming.text}


def history_message(entry: store.HistoryEntry) -> dict[str, Any]:
    body = entry.body
    return {
        "from": "me" if entry.direction == "in" else "bot",
        "id": f"push-{entry.outbox_id}" if entry.outbox_id else f"h{entry.id}",
        "text": body.get("text", ""),
        "buttons": list(body.get("buttons", ())),
        "image": media_url(body.get("image")),
        "link": body.get("link"),
        "at": entry.created_at.isoformat(),
    }


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
        replies = await self.app[INBOUND].receive(incoming)
        if replies is None:
            return [{"type": "ack", "reply_to": client_id, "duplicate": True, "final": True}]
        delivery = self.app.get(DELIVERY)
        if delivery is not None:
            delivery.wake.set()  # pushes the handler queued go out now, not at the next poll
        await self._remember(incoming, replies, label)
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

    async def _remember(self, incoming: Incoming, replies: list[Reply], label: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            ident = await store.identity(session, incoming.sender_id)
            if ident is None:
                return  # unbound browsers have no history
            now = self.clock.now()
            await store.add_message(
                session, ident.identity_id, "in", _inbound_body(incoming, label), now
            )
            for reply in replies:
                await store.add_message(session, ident.identity_id, "out", reply.to_dict(), now)


async def safe_send(ws: web.WebSocketResponse, data: dict[str, Any]) -> bool:
    """Send unless the socket has gone; a closed page is not an error."""
    if ws.closed:
        return False
    try:
        await ws.send_str(json.dumps(data, ensure_ascii=False))
    except (ConnectionError, RuntimeError):
        return False
    return True


def parse_frame(hub: WebChatHub, external_id: str, raw: str) -> tuple[Incoming, str, str]:
    """Validate one client frame; returns (incoming, client id, button label)."""
    if len(raw) > hub.limits.max_frame_chars:
        raise FrameError("frame_too_big")
    try:
        data = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json") from None
    if not isinstance(data, dict):
        raise FrameError("not_object")
    cid = data.get("id")
    if cid is None:
        cid = uuid.uuid4().hex
    elif not isinstance(cid, str) or not _CLIENT_ID.match(cid):
        raise FrameError("bad_id")
    kind = data.get("type")
    if kind == "text":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("empty_text", cid)
        if len(text) > MAX_TEXT:
            raise FrameError("too_long", cid)
        return hub.incoming(external_id, cid, "text", text=text), cid, ""
    if kind == "button":
        payload, label = data.get("payload"), data.get("label", "")
        if not isinstance(payload, str) or not payload or len(payload) > 200:
            raise FrameError("bad_button", cid)
        if not isinstance(label, str) or len(label) > 64:
            raise FrameError("bad_button", cid)
        return hub.incoming(external_id, cid, "button", payload=payload), cid, label
    if kind == "location":
        lat, lon, label = data.get("lat"), data.get("lon"), data.get("label", "")
        if not (_coordinate(lat, 90) and _coordinate(lon, 180)):
            raise FrameError("bad_location", cid)
        if not isinstance(label, str) or len(label) > 200:
            raise FrameError("bad_location", cid)
        return (
            hub.incoming(
                external_id, cid, "location", lat=float(lat), lon=float(lon), label=label.strip()
            ),
            cid,
            "",
        )
    raise FrameError("unknown_type", cid)


def _coordinate(value: Any, bound: float) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and -bound <= value <= bound
    )


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
                    await safe_send(ws, {"type": "error", "text": TEXTS["too_fast"]})
                continue
            if msg.type == WSMsgType.BINARY:
                await safe_send(ws, {"type": "error", "text": TEXTS["binary"], "reply_to": None})
                continue
            if hub.closing:
                await safe_send(ws, {"type": "error", "text": TEXTS["shutting_down"]})
                continue
            try:
                incoming, cid, label = parse_frame(hub, external_id, msg.data)
            except FrameError as err:
                await safe_send(ws, {"type": "error", "text": err.text, "reply_to": err.reply_to})
                continue
            for out in await hub.process(incoming, cid, label):
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
                cid = value if _CLIENT_ID.match(value) else None
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
    if external_id is None or await hub.bound(external_id) is None:
        raise web.HTTPForbidden(text=TEXTS["media_forbidden"])
    root = request.app[CONFIG].core.media_dir
    rel = request.match_info["path"]

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
        secret = await asyncio.to_thread(app[CONFIG].secret_key)
        hub = WebChatHub(app, secret, WebChatLimits())
        app[HUB] = hub
        app[PAGE] = env.get_template("chat.html")
        app[SENDERS][CHANNEL] = WebChatSender(hub)
        yield
        await hub.close_all()
        # In-flight messages finish before the database goes away.
        pending = [t for t in app[BACKGROUND] if not t.done()]
        if pending:
            log.info("waiting for %d in-flight messages", len(pending))
            await asyncio.wait(pending, timeout=15)

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
