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
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import jinja2
from aiohttp import BodyPartReader, WSMsgType, web

from bot.appkeys import CONFIG
from bot.channels.base import install
from bot.channels.ingest import PhotoRefused, ingest_photo
from bot.channels.webchat import CHANNEL
from bot.channels.webchat.hub import COOKIE, WebChatHub, safe_send
from bot.channels.webchat.protocol import (
    CLIENT_ID,
    TEXTS,
    FrameError,
    TokenBucket,
    WebChatLimits,
    media_url,
    parse_frame,
)
from storage import photos as photo_store

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "COOKIE", "HUB", "TEXTS", "WebChatHub", "setup"]

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"


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


async def _read_upload(request: web.Request, limit: int) -> tuple[bytearray | None, str | None]:
    """The ``photo`` part (at most ``limit`` + 1 bytes: one more is "too big") and the ``id``
    part of an upload."""
    data: bytearray | None = None
    cid: str | None = None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):  # a nested multipart: not ours
            await part.release()
        elif part.name == "photo" and data is None:
            data = bytearray()
            # Read everything (so the client sees our answer, not a reset) but keep at most
            # limit + 1 bytes.
            while chunk := await part.read_chunk(256 * 1024):
                if len(data) <= limit:
                    data.extend(chunk[: limit + 1 - len(data)])
        elif part.name == "id":
            value = (await part.read(decode=True))[:64].decode("utf-8", "replace")
            cid = value if CLIENT_ID.match(value) else None
        else:
            await part.release()
    return data, cid


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
    try:
        data, cid = await _read_upload(request, limit)
    except (ValueError, AssertionError, KeyError):
        return _error(400, "upload_not_multipart")
    if not data:
        return _error(400, "upload_missing")
    photo = bytes(data)

    async def read() -> bytes:
        return photo

    try:
        stored = await ingest_photo(
            request.app[CONFIG].core.media_dir, read, size=len(photo), limit=limit
        )
    except PhotoRefused as refused:
        log.info("upload rejected browser=%s…: %s", external_id[:6], refused.text)
        return web.json_response(
            {"ok": False, "type": "error", "text": refused.text}, status=refused.status
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


def setup(app: web.Application) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )

    @contextlib.asynccontextmanager
    async def open_hub(app: web.Application) -> AsyncIterator[WebChatHub]:
        config = app[CONFIG]
        secret = await asyncio.to_thread(config.secret_key)
        limits = WebChatLimits(
            frames_per_second=config.core.webchat_rate, burst=config.core.webchat_burst
        )
        app[PAGE] = env.get_template("chat.html")
        yield WebChatHub(app, secret, limits)

    # No drain here: sockets close at once, and bot.app.in_flight waits for the messages.
    install(app, HUB, open_hub, drain=None)
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
