"""WeCom (企业微信) self-built app channel: ``GET/POST /wecom/callback`` and the sender.

    WeCom --callback--> verify + decrypt + parse -> Incoming -> inbox (commit) -> 200 "success"
                                                      `-> background: handle -> message/send
                                                          (a card tap: then its card updated)

WeCom waits five seconds for the answer and then retries (up to three times), so the answer
goes out as soon as the message is in the inbox; the inbox's unique (channel, message id)
makes the retries no-ops. Images are downloaded before answering because a media_id expires
after about three days: a message handled later (after a crash) must not depend on it. If the
download fails for a while (network, WeCom busy) we answer 503 and let WeCom retry; if it can
never succeed (an invalid or expired media id) we answer 200 and tell the person.

Bad input (signature, stale timestamp, padding, receive-id, XML, size, a CreateTime that is
not a positive integer, a forged MsgId, a non-finite location) gets a 4xx, one log line, and
nothing is stored. Text is cleaned (core.text.clean_text) before it goes anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from bot.channels.ingest import PhotoRefused, ingest_photo
from bot.channels.replies import FastPath, QueueReplies, send_replies
from bot.channels.wecom import CHANNEL
from bot.channels.wecom.api import WeComApi, WeComError
from bot.channels.wecom.cards import CardBook, CardPress, press_of
from bot.channels.wecom.crypto import CallbackRejected, WeComCrypto
from bot.channels.wecom.sender import WeComSender
from bot.channels.wecom.settings import WeComSettings
from bot.channels.wecom.xml import MAX_BODY, event_message_id, parse_xml
from core.inputs import finite
from core.messages import Incoming, Reply
from core.text import clean_text

log = logging.getLogger(__name__)

MAX_SKEW = 300  # seconds between WeCom's timestamp and our clock
# media/get errors no retry can fix: invalid media_id (also an expired one), media type, file
# type, file size, image size; -2 is our own "larger than 10 MB".
PERMANENT_MEDIA_ERRORS = frozenset({40004, 40005, 40006, 40007, 40009, -2})
MEDIA_TIMEOUT = 3.5  # seconds, inside WeCom's 5-second window
# Messages handled at once in the background. Handling holds a database connection for a
# while; capping it leaves connections for recording new callbacks, so under a burst the
# answers to WeCom stay fast and the inbox absorbs the backlog.
HANDLE_CONCURRENCY = 8
# WeCom's MsgId is a 64-bit integer; anything beyond a short printable token is forged.
MSG_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class WeComChannel:
    name = CHANNEL

    def __init__(self, app: web.Application, http: aiohttp.ClientSession) -> None:
        settings = app[CONFIG].section(WeComSettings)
        self.app = app
        self.settings = settings
        self.crypto = WeComCrypto(
            settings.token.get_secret_value(), settings.aes_key.get_secret_value(), settings.corp_id
        )
        self.api = WeComApi(settings, http)
        self.memory = menus.MenuMemory(app[SESSIONMAKER], app[CLOCK], CHANNEL)
        media = app[MEDIA]
        # Cards already out are updated after a tap even when sending cards is switched off.
        self.cards = CardBook(app[SESSIONMAKER], app[CLOCK], self.api, settings.agent_id)
        sent_cards = self.cards if settings.cards else None
        # Pushes (delivery worker) remember their menu after sending; replies to a message
        # have theirs stored in the message's transaction (see process).
        self.sender = WeComSender(self.api, settings.agent_id, media, self.memory, sent_cards)
        self.reply_sender = WeComSender(self.api, settings.agent_id, media, None, sent_cards)
        self._handling = asyncio.Semaphore(HANDLE_CONCURRENCY)
        # The replies' send slots and sent marks, group-committed across messages.
        self.fast = FastPath(app)

    async def start(self) -> None:
        """WeCom calls us: nothing to start."""

    async def stop(self) -> None:
        """The route stays, but the sender is gone; the replies in flight are drained."""

    def _check_query(self, request: web.Request, encrypted: str) -> None:
        q = request.query
        signature, timestamp, nonce = (
            q.get("msg_signature", ""),
            q.get("timestamp", ""),
            q.get("nonce", ""),
        )
        if not (signature and timestamp.isdigit() and nonce) or len(timestamp) > 12:
            raise CallbackRejected("missing or bad query parameters")
        now = self.app[CLOCK].now().timestamp()
        if abs(now - int(timestamp)) > MAX_SKEW:
            raise CallbackRejected("stale timestamp", 403)
        self.crypto.verify(signature, timestamp, nonce, encrypted)

    async def verify_url(self, request: web.Request) -> web.Response:
        """URL verification when the admin saves the callback URL: echo the decrypted echostr."""
        try:
            echostr = request.query.get("echostr", "")
            if not echostr:
                raise CallbackRejected("missing echostr")
            self._check_query(request, echostr)
            plain = self.crypto.decrypt(echostr)
        except CallbackRejected as exc:
            return self._reject(request, exc)
        return web.Response(body=plain, content_type="text/plain")

    async def callback(self, request: web.Request) -> web.Response:
        try:
            if (request.content_length or 0) > MAX_BODY:
                raise CallbackRejected("body too large", 413)
            try:
                body = await read_limited(request.content, MAX_BODY)
            except TooLarge:
                raise CallbackRejected("body too large", 413) from None
            outer = parse_xml(body)
            encrypted = outer.get("Encrypt", "")
            if not encrypted:
                raise CallbackRejected("no Encrypt element")
            self._check_query(request, encrypted)
            msg = parse_xml(self.crypto.decrypt(encrypted))
            incoming = await self._incoming(msg)
        except CallbackRejected as exc:
            return self._reject(request, exc)
        except (WeComError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("wecom media download failed, asking WeCom to retry: %r", exc)
            return web.Response(status=503, text="retry")
        if isinstance(incoming, Reply):  # answered without the router (e.g. a bad photo)
            user = msg.get("FromUserName", "")
            spawn(self.app, self.sender.send(user, incoming.to_dict()), "wecom-notice")
            return web.Response(text="success")
        if incoming is None:
            return web.Response(text="success")
        inbound = self.app[INBOUND]
        try:
            inbox_id = await inbound.record(incoming)
        except Exception:  # not stored (the database is away): WeCom retries on a non-200
            log.warning("wecom message not stored, asking WeCom to retry", exc_info=True)
            return web.Response(status=503, text="retry")
        if inbox_id is not None:  # None: a retry of a callback already stored
            press = press_of(msg, incoming.ts)
            work = self.process(inbox_id, incoming, press)
            spawn(self.app, work, f"wecom:{incoming.message_id}")
        return web.Response(text="success")

    def _reject(self, request: web.Request, exc: CallbackRejected) -> web.Response:
        log.warning(
            "wecom callback rejected status=%s reason=%s peer=%s",
            exc.status,
            exc.reason,
            request.remote,
        )
        return web.Response(status=exc.status, text="rejected")

    async def _incoming(self, msg: dict[str, str]) -> Incoming | Reply | None:
        kind = msg.get("MsgType", "")
        user = msg.get("FromUserName", "")
        if not user or len(user) > 64:
            raise CallbackRejected("missing or bad FromUserName")
        ts = create_time(msg.get("CreateTime", ""))
        base: dict[str, Any] = {"channel": CHANNEL, "sender_id": user, "ts": ts}
        if kind == "event":
            return _event(msg, base)
        msg_id = msg.get("MsgId", "")
        if not MSG_ID.fullmatch(msg_id):
            raise CallbackRejected("missing or bad MsgId")
        base["message_id"] = msg_id
        if kind == "text":
            return await self._text(msg.get("Content", ""), base)  # cleaned there
        if kind == "location":
            return _location(msg, base)
        if kind == "image":
            return await self._image(msg.get("MediaId", ""), base)
        if kind == "voice":  # AMR; Recognition when the app has speech recognition on
            words = clean_text(msg.get("Recognition", ""))[: split.MAX_TEXT]
            return await self._image(msg.get("MediaId", ""), base, voice=words)
        log.info("wecom message type not supported type=%s msg=%s", kind[:16], msg_id)
        return Reply(texts.UNSUPPORTED)

    async def _text(self, text: str, base: dict[str, Any]) -> Incoming | Reply | None:
        if split.too_long(text):
            return Reply(texts.TOO_LONG)
        text = clean_text(text)
        if not text.strip():
            return None  # nothing left to answer (only control characters)
        # A bare number answers the last numbered menu: it is that button's press.
        choice = await self.memory.resolve(base["sender_id"], text)
        if choice is not None:
            return Incoming(kind="button", payload=choice, **base)
        return Incoming(kind="text", text=text, **base)

    async def _image(
        self, media_id: str, base: dict[str, Any], voice: str | None = None
    ) -> Incoming | Reply:
        """An image, or with ``voice`` (its recognised words, maybe empty) a voice note."""
        if not media_id:
            raise CallbackRejected("media without MediaId")
        try:
            # Transient download errors propagate: the callback answers 503 and WeCom retries.
            stored = await ingest_photo(
                self.app[MEDIA],
                lambda: self._media(media_id),
                message_id=base["message_id"],
                voice=voice is not None,
            )
        except PhotoRefused as refused:
            return Reply(refused.text)
        except WeComError as exc:
            if exc.errcode not in PERMANENT_MEDIA_ERRORS:
                raise
            # Retrying cannot help: answer 200 so WeCom stops, and tell the person.
            log.warning("wecom media gone msg=%s errcode=%s", base["message_id"], exc.errcode)
            return Reply(texts.PHOTO_GONE if voice is None else texts.VOICE_GONE)
        if voice is not None:
            return Incoming(kind="voice", photo=stored.to_dict(), text=voice, **base)
        return Incoming(kind="photo", photo=stored.to_dict(), **base)

    async def _media(self, media_id: str) -> bytes:
        async with asyncio.timeout(MEDIA_TIMEOUT):
            return await self.api.get_media(media_id)

    async def process(
        self, inbox_id: int, incoming: Incoming, press: CardPress | None = None
    ) -> None:
        # WeCom has had its 200: the replies go to the outbox with the handling, and are sent
        # from there at once (bot.channels.replies), so a crash in between loses none. A card
        # tap's card is updated afterwards, once (a crash before that leaves it as it was).
        queue = QueueReplies(self.app, then=self.memory.remember_replies)
        try:
            async with self._handling:
                replies = await self.app[INBOUND].handle(inbox_id, incoming, after=queue) or []
            await send_replies(self.app, self.reply_sender, incoming, replies, queue.ids, self.fast)
            if press is not None:
                await self.cards.answer(incoming.sender_id, press)
        except Exception:  # nobody awaits this task: log here or lose the error
            log.exception("wecom processing failed msg=%s", incoming.message_id)


def _event(msg: dict[str, str], base: dict[str, Any]) -> Incoming | None:
    event = msg.get("Event", "")
    if event in ("click", "template_card_event"):  # a menu item, or a card's button
        payload = clean_text(msg.get("EventKey", ""), 128)
        return Incoming(message_id=event_message_id(msg), kind="button", payload=payload, **base)
    if event == "enter_agent":
        return Incoming(
            message_id=event_message_id(msg), kind="event", payload="enter_agent", **base
        )
    log.info("wecom event ignored event=%s", event[:32])
    return None


def _location(msg: dict[str, str], base: dict[str, Any]) -> Incoming:
    try:
        lat = finite(float(msg["Location_X"][:32]), 90)
        lon = finite(float(msg["Location_Y"][:32]), 180)
    except (KeyError, ValueError):
        raise CallbackRejected("bad location") from None
    if lat is None or lon is None:  # NaN, inf or out of range
        raise CallbackRejected("location out of range")
    label = clean_text(msg.get("Label", ""), 200)
    return Incoming(kind="location", lat=lat, lon=lon, label=label, **base)


def create_time(raw: str) -> datetime:
    """WeCom's CreateTime (seconds since 1970): a positive integer of at most 10 digits, else
    the callback is refused (a negative or huge one is forged, not late)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) == 0:
        raise CallbackRejected("bad CreateTime")
    return datetime.fromtimestamp(int(raw), UTC)


CHANNEL_KEY = web.AppKey("wecom_channel", WeComChannel)


@contextlib.asynccontextmanager
async def _open(app: web.Application) -> AsyncIterator[WeComChannel]:
    # Replies still being handled need the HTTP session: install drains them before it closes.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        yield WeComChannel(app, http)


def setup(app: web.Application) -> None:
    async def get(request: web.Request) -> web.Response:
        return await request.app[CHANNEL_KEY].verify_url(request)

    async def post(request: web.Request) -> web.Response:
        return await request.app[CHANNEL_KEY].callback(request)

    install(app, CHANNEL_KEY, _open)
    app.router.add_get("/wecom/callback", get)
    app.router.add_post("/wecom/callback", post)
