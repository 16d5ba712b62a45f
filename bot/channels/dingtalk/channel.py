"""DingTalk (钉钉) enterprise internal app robot: ``POST /dingtalk/callback`` and the sender.

    DingTalk --HTTP callback--> verify timestamp + sign -> JSON -> Incoming -> inbox (commit)
             <- 200 ``{}`` once stored (503 if the database is away)
                                 `-> background: handle -> oToMessages/batchSend

Only one-to-one chats (``conversationType`` "1") are taken: an identity is one person, so a
group message gets a short answer in the callback's response body (the robot's reply to that
group) asking for a one-to-one chat, and nothing is stored. Pictures are downloaded before
answering (the download code is short-lived, a message handled after a crash must not need
it); a picture that cannot be fetched is answered with a notice and not stored. The inbox's
unique (channel, msgId) makes a resent callback a no-op.

Bad input (headers, signature, stale time, size, JSON, a missing or forged id) gets a 4xx, one
log line, and nothing is stored. Text is cleaned (core.text.clean_text) before it goes anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bot.appkeys import CLOCK, CONFIG, INBOUND, MEDIA, SESSIONMAKER
from bot.channels import menus, split, texts
from bot.channels.base import install, spawn
from bot.channels.bodies import TooLarge, read_limited
from bot.channels.dingtalk import CHANNEL
from bot.channels.dingtalk import texts as T
from bot.channels.dingtalk.api import DingTalkApi, DingTalkError
from bot.channels.dingtalk.sender import DingTalkSender
from bot.channels.dingtalk.settings import DingTalkSettings
from bot.channels.dingtalk.signature import CallbackRejected, verify
from bot.channels.ingest import PhotoRefused, ingest_photo
from bot.channels.replies import FastPath, QueueReplies, send_replies
from core.messages import MAX_TEXT, Incoming, Kind, Reply
from core.text import clean_text
from services import media

log = logging.getLogger(__name__)

CALLBACK_PATH = "/dingtalk/callback"
MAX_BODY = 64 * 1024  # a callback is about 1 kB
HANDLE_CONCURRENCY = 8  # as WeCom: leave database connections for recording new callbacks
DOWNLOAD_TIMEOUT = 10.0  # seconds for the download-code exchange and the file itself
DOWNLOAD_ERRORS = (DingTalkError, aiohttp.ClientError, TimeoutError, ValueError)
# msgId is an opaque, base64-like token; staff ids are short letters and digits.
MSG_ID = re.compile(r"[A-Za-z0-9_.:+/=-]{1,128}")
STAFF_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
OK = {"success": True}


class DingTalkChannel:
    name = CHANNEL

    def __init__(self, app: web.Application, http: aiohttp.ClientSession) -> None:
        settings = app[CONFIG].section(DingTalkSettings)
        self.app = app
        self.secret = settings.app_secret.get_secret_value()
        self.api = DingTalkApi(settings, http)
        self.memory = menus.MenuMemory(app[SESSIONMAKER], app[CLOCK], CHANNEL)
        # Pushes (delivery worker) remember their menu after sending; replies to a message
        # have theirs stored in the message's transaction (see process).
        self.sender = DingTalkSender(self.api, self.memory, settings.cards)
        self.reply_sender = DingTalkSender(self.api, None, settings.cards)
        self._handling = asyncio.Semaphore(HANDLE_CONCURRENCY)
        # The replies' send slots and sent marks, group-committed across messages.
        self.fast = FastPath(app)

    async def start(self) -> None:
        """DingTalk calls us: nothing to start."""

    async def stop(self) -> None:
        """The route stays, but the sender is gone; the replies in flight are drained."""

    async def callback(self, request: web.Request) -> web.Response:
        try:
            now_ms = self.app[CLOCK].now().timestamp() * 1000
            verify(
                request.headers.get("timestamp", ""),
                request.headers.get("sign", ""),
                self.secret,
                now_ms,
            )
            msg = await _read_json(request)
            if str(msg.get("conversationType", "")) != "1":
                log.info("dingtalk group message answered, not stored")
                return web.json_response({"msgtype": "text", "text": {"content": T.GROUP_CHAT}})
            user = _sender(msg)
            incoming = await self._incoming(msg, user)
        except CallbackRejected as exc:
            return _reject(request, exc)
        except Exception:  # e.g. the menu lookup with the database away: nothing was stored
            log.warning("dingtalk message not taken, answering 503", exc_info=True)
            return web.Response(status=503, text="retry")
        if isinstance(incoming, Reply):  # answered without the router (e.g. a bad photo)
            spawn(self.app, self.sender.send(user, incoming.to_dict()), "dingtalk-notice")
            return web.json_response(OK)
        if incoming is None:
            return web.json_response(OK)
        try:
            inbox_id = await self.app[INBOUND].record(incoming)
        except Exception:  # not stored (the database is away): DingTalk may send it again
            log.warning("dingtalk message not stored, answering 503", exc_info=True)
            return web.Response(status=503, text="retry")
        if inbox_id is not None:
            spawn(self.app, self.process(inbox_id, incoming), f"dingtalk:{incoming.message_id}")
        return web.json_response(OK)

    async def _incoming(self, msg: dict[str, Any], user: str) -> Incoming | Reply | None:
        msg_id = msg.get("msgId")
        if not isinstance(msg_id, str) or not MSG_ID.fullmatch(msg_id):
            raise CallbackRejected("missing or bad msgId")
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "sender_id": user,
            "message_id": msg_id,
            "ts": _created(msg.get("createAt")),
        }
        kind = msg.get("msgtype")
        raw = msg.get("content")
        content: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if kind == "text":
            text = msg.get("text")
            return await self._text(
                _str(text.get("content") if isinstance(text, dict) else ""), base
            )
        if kind == "picture":
            return await self._picture(_str(content.get("downloadCode")), base)
        if kind == "audio":  # a voice message; "recognition": DingTalk's transcript
            words = clean_text(_str(content.get("recognition")))[:MAX_TEXT].strip()
            return await self._picture(_str(content.get("downloadCode")), base, words, voice=True)
        if kind == "richText":
            return await self._rich(content.get("richText"), base)
        log.info("dingtalk message type not supported type=%s msg=%s", str(kind)[:16], msg_id)
        return Reply(texts.UNSUPPORTED)

    async def _text(self, text: str, base: dict[str, Any]) -> Incoming | Reply | None:
        if split.too_long(text):
            return Reply(texts.TOO_LONG)
        text = clean_text(text).strip()
        if not text:
            return None  # nothing left to answer (only spaces or control characters)
        # A bare number answers the last numbered menu: it is that button's press.
        choice = await self.memory.resolve(base["sender_id"], text)
        if choice is not None:
            return Incoming(kind="button", payload=choice, **base)
        return Incoming(kind="text", text=text, **base)

    async def _rich(self, parts: Any, base: dict[str, Any]) -> Incoming | Reply | None:
        """Text and pictures in one message: the text, or the first picture with the text as
        its caption (a photo with a note, as on Telegram)."""
        if not isinstance(parts, list) or len(parts) > 50:
            raise CallbackRejected("bad richText")
        words = [_str(p.get("text")) for p in parts if isinstance(p, dict) and "text" in p]
        codes = [_str(p.get("downloadCode")) for p in parts if isinstance(p, dict)]
        codes = [c for c in codes if c]
        text = "\n".join(w for w in words if w.strip())
        if not codes:
            return await self._text(text, base)
        if split.too_long(text):
            return Reply(texts.TOO_LONG)
        return await self._picture(codes[0], base, clean_text(text).strip())

    async def _picture(
        self, code: str, base: dict[str, Any], caption: str = "", *, voice: bool = False
    ) -> Incoming | Reply:
        """A picture (``caption``: its text), or with ``voice`` an audio message (``caption``:
        its recognised words)."""
        if not code or len(code) > 2048:
            raise CallbackRejected("media without downloadCode")
        try:
            stored = await ingest_photo(
                self.app[MEDIA],
                lambda: self._download(code, voice),
                notice_on=DOWNLOAD_ERRORS,
                message_id=base["message_id"],
                voice=voice,
            )
        except PhotoRefused as refused:
            return Reply(refused.text)
        kind: Kind = "voice" if voice else "photo"
        return Incoming(kind=kind, photo=stored.to_dict(), text=caption, **base)

    async def _download(self, code: str, voice: bool = False) -> bytes:
        limit = media.MAX_VOICE_BYTES if voice else media.MAX_IMAGE_BYTES
        try:
            async with asyncio.timeout(DOWNLOAD_TIMEOUT):
                return await self.api.download(code, limit)
        except TooLarge:
            too_big = media.VOICE_TOO_BIG.format(mb=limit // 1024 // 1024)
            raise PhotoRefused(too_big if voice else texts.PHOTO_TOO_BIG, 413) from None

    async def process(self, inbox_id: int, incoming: Incoming) -> None:
        # DingTalk has had its 200: the replies go to the outbox with the handling, and are
        # sent from there at once (bot.channels.replies), so a crash in between loses none.
        queue = QueueReplies(self.app, then=self.memory.remember_replies)
        try:
            async with self._handling:
                replies = await self.app[INBOUND].handle(inbox_id, incoming, after=queue) or []
            await send_replies(self.app, self.reply_sender, incoming, replies, queue.ids, self.fast)
        except Exception:  # nobody awaits this task: log here or lose the error
            log.exception("dingtalk processing failed msg=%s", incoming.message_id)


def _reject(request: web.Request, exc: CallbackRejected) -> web.Response:
    log.warning(
        "dingtalk callback rejected status=%s reason=%s peer=%s",
        exc.status,
        exc.reason,
        request.remote,
    )
    return web.Response(status=exc.status, text="rejected")


async def _read_json(request: web.Request) -> dict[str, Any]:
    if (request.content_length or 0) > MAX_BODY:
        raise CallbackRejected("body too large", 413)
    try:
        raw = await read_limited(request.content, MAX_BODY)
    except TooLarge:
        raise CallbackRejected("body too large", 413) from None
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
        raise CallbackRejected("body is not JSON") from None
    if not isinstance(msg, dict):
        raise CallbackRejected("body is not a JSON object")
    return msg


def _sender(msg: dict[str, Any]) -> str:
    user = msg.get("senderStaffId")
    if not isinstance(user, str) or not STAFF_ID.fullmatch(user):
        raise CallbackRejected("missing or bad senderStaffId")
    return user


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _created(raw: Any) -> datetime:
    """``createAt`` (milliseconds since 1970, a number or a digit string): a positive integer
    of at most 13 digits, else the callback is refused (a negative or huge one is forged)."""
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 13 or int(text) == 0:
        raise CallbackRejected("bad createAt")
    return datetime.fromtimestamp(int(text) / 1000, UTC)


CHANNEL_KEY = web.AppKey("dingtalk_channel", DingTalkChannel)


@contextlib.asynccontextmanager
async def _open(app: web.Application) -> AsyncIterator[DingTalkChannel]:
    # Replies still being handled need the HTTP session: install drains them before it closes.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        yield DingTalkChannel(app, http)


def setup(app: web.Application) -> None:
    async def post(request: web.Request) -> web.Response:
        return await request.app[CHANNEL_KEY].callback(request)

    install(app, CHANNEL_KEY, _open)
    app.router.add_post(CALLBACK_PATH, post)
