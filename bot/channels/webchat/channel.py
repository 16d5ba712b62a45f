"""The built-in web chat: a WeChat-style phone page at /chat over an aiohttp WebSocket.

Routes
    GET  /            redirect to /chat
    GET  /chat        the page (sets the browser cookie when missing)
    GET  /chat/ws     the WebSocket
    POST /chat/upload a photo or a voice note, multipart/form-data: field ``photo`` (a photo)
                      or ``voice`` (a recording: WebM/OGG from MediaRecorder, or any type
                      services.media.sniff_audio knows; the bytes decide), optional ``id``
                      (the page's client id: a resend with the same id is stored once) and
                      ``taken_at`` (the original's EXIF DateTimeOriginal, "YYYY:MM:DD HH:MM:SS",
                      used when the uploaded copy has no EXIF time of its own)
    GET  /chat/manifest.webmanifest, /chat/sw.js  the PWA manifest and service worker
                      (bot.channels.webchat.pwa)
    POST /chat/session {"token": t}: the cookie of the new browser id a socket was given
    GET  /media/{path} stored photos and thumbnails, for a browser bound to a person, or by a
                      signed link of a ledger (bot.web.signed) for the person it names

Identity
    Each browser gets a random id in the cookie ``cunbot_chat`` ("<id>.<hmac>", HMAC-SHA256 with
    the service secret; HttpOnly, SameSite=Lax). Binding is the normal chat command
    ``绑定 <邀请码>``, which links Identity(channel="webchat", external_id=<id>) to a person.
    Binding and logging out (``解绑`` / ``/logout`` / ``退出登录``, confirmed with a button)
    give the browser a new id at once (bot.channels.webchat.hub.renew): the socket moves to
    it, the page gets a ``status`` frame with a session token valid 10 minutes and exchanges
    it at POST /chat/session for the new cookie. An id planted in the browser before binding
    (session fixation) maps to nobody afterwards; a logged-out id neither.
    Binding attempts: 5 failed codes per 10 minutes per browser (any chat identity), 20 per
    client address; then every code is refused until the window frees up (services.people).
    Unbound browsers: the inbox keeps 30 messages / 5,000 characters per browser id per day;
    beyond that a message is answered but not stored (bot.channels.webchat.guard).
    Origin and security headers: bot.web.headers.

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
    {"type": "status", "bound": bool, "session": token}     this browser has just been bound
        (or logged out) and has a new id: POST the token to /chat/session
    {"type": "error", "text": "中文说明", "reply_to": id|null}   a rejected frame; the socket
        stays open
    {"type": "error", "text": "发得太快了…", "reply_to": first id, "dropped": [ids]}  frames
        the flood guard dropped (not handled, not stored), at most one such frame a second

Upload answer (JSON): 200 {"ok": true, "reply_to": client id, "duplicate": bool, "image": url,
"thumb": url, "audio": url, "frames": [reply frames]} (a voice note: "audio" set, "image" and
"thumb" null; a photo: "audio" null)
(the same frames are also pushed to every open socket of that browser), or
{"ok": false, "type": "error", "text": "中文说明"} with 401 (no valid cookie), 403 (browser not
bound), 400 (not multipart / no photo / a malformed ``id``), 413 (over 10 MB; a voice note over
5 MB), 415 (not a real JPEG/PNG/WebP; for ``voice`` not a known audio type).

Limits: text over 2,000 characters, frames over 32,000 characters, binary frames, bad JSON,
unknown types, missing or invalid fields each get an error frame; frames beyond
``frames_per_second`` per second (burst ``burst``) from one socket are dropped and named in
the ``dropped`` error frame; uploads over 10 MB or not a
real JPEG/PNG/WebP get an error answer. Only a frame over 1 MB closes the socket (code 1009,
aiohttp's own guard). On shutdown every socket is closed with 1001 (going away); the page
reconnects and resends, with the same ids, what is neither answered nor in the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import jinja2
from aiohttp import BodyPartReader, web

from bot.appkeys import CLOCK, CONFIG, MEDIA
from bot.channels.base import install
from bot.channels.ingest import PhotoRefused, ingest_photo
from bot.channels.webchat import CHANNEL, connection, pwa
from bot.channels.webchat.hub import COOKIE, WebChatHub, new_browser_id
from bot.channels.webchat.protocol import (
    CLIENT_ID,
    TEXTS,
    WebChatLimits,
    exif_time,
    media_url,
)
from bot.web import signed, stored
from services import audit_refusals
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
        hub.set_cookie(response, new_browser_id())
    return response


async def chat_ws(request: web.Request) -> web.WebSocketResponse:
    return await connection.serve(request, request.app[HUB])


async def chat_session(request: web.Request) -> web.Response:
    """Exchange the session token a socket was given (after binding or logging out) for the
    browser cookie of the new id."""
    hub = request.app[HUB]
    try:
        data = await request.json()
    except ValueError:
        data = None
    external_id = hub.read_session_token(data.get("token") if isinstance(data, dict) else None)
    if external_id is None:
        return _error(400, "session_bad")
    response = web.json_response({"ok": True})
    hub.set_cookie(response, external_id)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(status: int, key: str) -> web.Response:
    return web.json_response({"ok": False, "type": "error", "text": TEXTS[key]}, status=status)


class BadUpload(ValueError):
    """An upload that is not what the page sends: answered 400 with ``TEXTS[key]``."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass
class UploadForm:
    photo: bytearray | None = None
    voice: bool = False  # the file came as ``voice``: stored by services.media.save_voice
    cid: str | None = None  # the page's client id (crypto.randomUUID), or none given
    taken_at: str | None = None  # ISO local time from the original's EXIF, read by the page


async def _field(part: BodyPartReader) -> str:
    """A short text field (at most 64 bytes; longer reads as empty)."""
    raw = await part.read(decode=True)
    return raw.decode("utf-8", "replace") if len(raw) <= 64 else ""


async def _read_upload(request: web.Request, limit: int) -> UploadForm:
    """The ``photo`` or ``voice`` part (at most ``limit`` + 1 bytes: one more is "too big"), the ``id``
    part and the ``taken_at`` part of an upload; other parts are skipped."""
    form = UploadForm()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):  # a nested multipart: not ours
            await part.release()
        elif part.name in ("photo", "voice") and form.photo is None:
            form.photo = data = bytearray()
            form.voice = part.name == "voice"
            # Read everything (so the client sees our answer, not a reset) but keep at most
            # limit + 1 bytes.
            while chunk := await part.read_chunk(256 * 1024):
                if len(data) <= limit:
                    data.extend(chunk[: limit + 1 - len(data)])
        elif part.name == "id":
            form.cid = await _field(part)
            if not CLIENT_ID.match(form.cid):
                raise BadUpload("bad_id")  # a resend must keep its id: never replace it
        elif part.name == "taken_at":
            # Broken camera clocks write things like "0000:00:00 00:00:00": the photo is
            # still taken, without a time.
            form.taken_at = exif_time(await _field(part))
        else:
            await part.release()
    return form


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
        form = await _read_upload(request, limit)
    except BadUpload as bad:
        return _error(400, bad.key)
    except (ValueError, AssertionError, KeyError):
        return _error(400, "upload_not_multipart")
    if not form.photo:
        return _error(400, "upload_missing")
    photo = bytes(form.photo)

    async def read() -> bytes:
        return photo

    try:
        stored = await ingest_photo(
            request.app[MEDIA],
            read,
            size=len(photo),
            limit=limit,
            voice=form.voice,
        )
    except PhotoRefused as refused:
        log.info("upload rejected browser=%s…: %s", external_id[:6], refused.text)
        return web.json_response(
            {"ok": False, "type": "error", "text": refused.text, "reply_to": form.cid},
            status=refused.status,
        )
    if stored.taken_at is None and form.taken_at is not None:
        stored = dataclasses.replace(stored, taken_at=form.taken_at)
    cid = form.cid or uuid.uuid4().hex
    kind = "voice" if form.voice else "photo"
    incoming = hub.incoming(external_id, cid, kind, photo=stored.to_dict())
    frames = await hub.process(incoming, cid)
    await hub.push(external_id, frames)
    return web.json_response(
        {
            "ok": True,
            "reply_to": cid,
            "duplicate": any(f.get("duplicate") for f in frames),
            "image": None if form.voice else media_url(stored.path),
            "thumb": media_url(stored.thumb_path),
            "audio": media_url(stored.path) if form.voice else None,
            "frames": frames,
        }
    )


async def _viewer(request: web.Request, rel: str) -> tuple[int, str]:
    """Who is asking for a photo, and how: the person a valid signed link names (``link``), or
    the person the browser is bound to (``webchat``). A bad or expired link is 403."""
    hub = request.app[HUB]
    key = request.app.get(signed.MEDIA_KEY)
    state, person_id = (
        signed.check(key, rel, request.query, request.app[CLOCK].now())
        if key is not None
        else (signed.LinkState.UNSIGNED, None)
    )
    if state == signed.LinkState.OK and person_id is not None:
        return person_id, "link"
    if state != signed.LinkState.UNSIGNED:
        await _refuse(request, person_id, rel, f"link_{state}", "link")
        raise web.HTTPForbidden(text=TEXTS["media_link_bad"])
    external_id = hub.browser_id(request)
    bound = await hub.bound(external_id) if external_id is not None else None
    if bound is None:
        raise web.HTTPForbidden(text=TEXTS["media_forbidden"])
    return bound.person_id, "webchat"


async def _refuse(
    request: web.Request, person_id: int | None, rel: str, reason: str, via: str
) -> None:
    await audit_refusals.record_apart(
        request.app[HUB].sessionmaker,
        reason,
        now=request.app[CLOCK].now(),
        person_id=person_id,
        action="media",
        obj=rel[:120],
        msg="-",
        via=via,
    )


async def media(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    rel = request.match_info["path"]
    person_id, via = await _viewer(request, rel)
    async with hub.sessionmaker() as session:
        allowed = await photo_store.may_view_photo(session, person_id, rel)
    if not allowed:
        # Another region's photo answers as a path that does not exist (no existence oracle),
        # and both leave a refusal in the audit.
        reason = "not_found" if allowed is None else "forbidden"
        await _refuse(request, person_id, rel, reason, via)
        raise web.HTTPNotFound()
    # A signed link must stop working when it expires, so its answer is not kept.
    cache = "private, max-age=86400" if via == "webchat" else "private, no-store"
    response = await stored.answer(
        request, request.app[MEDIA], rel, headers={"Cache-Control": cache}
    )
    if response is None:
        raise web.HTTPNotFound()
    return response


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
    app.router.add_post("/chat/session", chat_session)
    app.router.add_get("/media/{path:.+}", media)
    pwa.setup(app, WEB_DIR / "static")
    app.router.add_static("/chat/static/", WEB_DIR / "static", name="webchat_static")


async def _close_sockets(app: web.Application) -> None:
    hub = app.get(HUB)
    if hub is not None:
        await hub.close_all()
