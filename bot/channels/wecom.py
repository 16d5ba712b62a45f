"""WeCom (企业微信) self-built app channel: ``GET/POST /wecom/callback`` and the sender.

    WeCom --callback--> verify + decrypt + parse -> Incoming -> inbox (commit) -> 200 "success"
                                                      `-> background: handle -> message/send

WeCom waits five seconds for the answer and then retries (up to three times), so the answer
goes out as soon as the message is in the inbox; the inbox's unique (channel, message id)
makes the retries no-ops. Images are downloaded before answering because a media_id expires
after about three days: a message handled later (after a crash) must not depend on it. If the
download fails we answer 503 and let WeCom retry.

Bad input (signature, stale timestamp, padding, receive-id, XML, size) gets a 4xx, one log
line, and nothing is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

import aiohttp
from aiohttp import web

from bot import app as appmod
from bot.channels import menus
from bot.channels import texts as channel_texts
from bot.channels.limits import TooLarge, read_limited
from bot.channels.replies import send_replies
from bot.channels.wecom_api import WeComApi, WeComError, WeComSender
from bot.channels.wecom_crypto import CallbackRejected, WeComCrypto
from core.messages import MAX_TEXT, Incoming, Reply
from handlers import texts
from storage import media

log = logging.getLogger(__name__)

CHANNEL = "wecom"
MAX_BODY = 64 * 1024  # callback bodies are about 1 kB
MAX_SKEW = 300  # seconds between WeCom's timestamp and our clock
MEDIA_TIMEOUT = 3.5  # seconds, inside WeCom's 5-second window
# Messages handled at once in the background. Handling holds a database connection for a
# while; capping it leaves connections for recording new callbacks, so under a burst the
# answers to WeCom stay fast and the inbox absorbs the backlog.
HANDLE_CONCURRENCY = 8
CHANNEL_KEY = web.AppKey("wecom_channel", "WeComChannel")


def parse_xml(data: bytes) -> dict[str, str]:
    """Leaf elements of a WeCom XML document as {tag: text}; the first occurrence wins.

    Expat is driven directly so that any DTD or entity declaration is refused (no billion
    laughs, no external entities) and the size is bounded before parsing."""
    if len(data) > MAX_BODY:
        raise CallbackRejected("xml too large", 413)
    fields: dict[str, str] = {}
    stack: list[tuple[str, list[str], bool]] = []

    def refuse(*_: Any) -> None:
        raise CallbackRejected("xml with DTD or entities")

    def start(tag: str, _attrs: dict[str, str]) -> None:
        if stack:
            stack[-1] = (stack[-1][0], stack[-1][1], True)
        stack.append((tag, [], False))

    def end(tag: str) -> None:
        name, chunks, has_children = stack.pop()
        if len(stack) >= 1 and not has_children:
            fields.setdefault(name, "".join(chunks).strip())

    def chars(text: str) -> None:
        if stack:
            stack[-1][1].append(text)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise CallbackRejected(f"malformed xml: {exc}") from None
    return fields


def event_message_id(msg: dict[str, str]) -> str:
    """Events have no MsgId: sender + CreateTime + Event + EventKey identifies a retry."""
    key = ":".join(
        [msg.get("FromUserName", ""), msg.get("CreateTime", ""), msg.get("Event", "")]
        + [msg.get("EventKey", "")]
    )
    return key if len(key) <= 120 else "ev:" + hashlib.sha1(key.encode()).hexdigest()


class WeComChannel:
    def __init__(self, app: web.Application, http: aiohttp.ClientSession) -> None:
        config = app[appmod.CONFIG]
        settings = config.wecom
        self.app = app
        self.settings = settings
        self.crypto = WeComCrypto(
            settings.token.get_secret_value(), settings.aes_key.get_secret_value(), settings.corp_id
        )
        self.api = WeComApi(settings, http)
        self.memory = menus.MenuMemory(app[appmod.SESSIONMAKER], app[appmod.CLOCK], CHANNEL)
        media_dir = app[appmod.RULES].media_dir
        # Pushes (delivery worker) remember their menu after sending; replies to a message
        # have theirs stored in the message's transaction (see process).
        self.sender = WeComSender(self.api, settings.agent_id, media_dir, self.memory)
        self.reply_sender = WeComSender(self.api, settings.agent_id, media_dir, None)
        self._handling = asyncio.Semaphore(HANDLE_CONCURRENCY)

    def _check_query(self, request: web.Request, encrypted: str) -> None:
        q = request.query
        signature, timestamp, nonce = (
            q.get("msg_signature", ""),
            q.get("timestamp", ""),
            q.get("nonce", ""),
        )
        if not (signature and timestamp.isdigit() and nonce) or len(timestamp) > 12:
            raise CallbackRejected("missing or bad query parameters")
        now = self.app[appmod.CLOCK].now().timestamp()
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
            appmod.spawn(self.app, self.sender.send(user, incoming.to_dict()), "wecom-notice")
            return web.Response(text="success")
        if incoming is None:
            return web.Response(text="success")
        inbound = self.app[appmod.INBOUND]
        inbox_id = await inbound.record(incoming)
        if inbox_id is not None:
            appmod.spawn(self.app, self.process(inbox_id, incoming), f"wecom:{incoming.message_id}")
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
        try:
            ts = datetime.fromtimestamp(int(msg.get("CreateTime", "")), UTC)
        except (ValueError, OverflowError, OSError):
            raise CallbackRejected("bad CreateTime") from None
        msg_id = msg.get("MsgId", "")[:64]
        base = {"channel": CHANNEL, "sender_id": user, "ts": ts}
        if kind == "event":
            event = msg.get("Event", "")
            if event == "click":
                payload = msg.get("EventKey", "")[:128]
                return Incoming(
                    message_id=event_message_id(msg), kind="button", payload=payload, **base
                )
            if event == "enter_agent":
                return Incoming(
                    message_id=event_message_id(msg), kind="event", payload="enter_agent", **base
                )
            log.info("wecom event ignored event=%s", event[:32])
            return None
        if not msg_id:
            raise CallbackRejected("message without MsgId")
        if kind == "text":
            text = msg.get("Content", "")
            if len(text) > MAX_TEXT:
                return Reply(texts.TOO_LONG.format(limit=MAX_TEXT))
            payload = await self.memory.resolve(user, text)
            if payload is not None:
                return Incoming(message_id=msg_id, kind="button", payload=payload, **base)
            return Incoming(message_id=msg_id, kind="text", text=text, **base)
        if kind == "location":
            try:
                lat, lon = float(msg["Location_X"]), float(msg["Location_Y"])
            except (KeyError, ValueError):
                raise CallbackRejected("bad location") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise CallbackRejected("location out of range")
            label = msg.get("Label", "")[:200]
            return Incoming(
                message_id=msg_id, kind="location", lat=lat, lon=lon, label=label, **base
            )
        if kind == "image":
            media_id = msg.get("MediaId", "")
            if not media_id:
                raise CallbackRejected("image without MediaId")
            async with asyncio.timeout(MEDIA_TIMEOUT):
                data = await self.api.get_media(media_id)
            try:
                stored = await media.save_image(self.app[appmod.RULES].media_dir, data)
            except media.ImageRejected as exc:
                return Reply(exc.reason)
            return Incoming(message_id=msg_id, kind="photo", photo=stored.to_dict(), **base)
        log.info("wecom message type not supported type=%s msg=%s", kind[:16], msg_id)
        return Reply(channel_texts.UNSUPPORTED)

    async def process(self, inbox_id: int, incoming: Incoming) -> None:
        try:
            async with self._handling:
                replies = (
                    await self.app[appmod.INBOUND].handle(
                        inbox_id, incoming, after=self.memory.remember_replies
                    )
                    or []
                )
            await send_replies(self.app, self.reply_sender, incoming, replies)
        except Exception:  # nobody awaits this task: log here or lose the error
            log.exception("wecom processing failed msg=%s", incoming.message_id)


def setup(app: web.Application) -> None:
    if not app[appmod.CONFIG].wecom.enabled:
        return

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            channel = WeComChannel(app, http)
            app[CHANNEL_KEY] = channel
            app[appmod.SENDERS][CHANNEL] = channel.sender
            yield
            app[appmod.SENDERS].pop(CHANNEL, None)
            # Replies still being handled need the HTTP session: let them finish first.
            pending = list(app[appmod.BACKGROUND])
            if pending:
                await asyncio.wait(pending, timeout=10)

    async def get(request: web.Request) -> web.Response:
        return await request.app[CHANNEL_KEY].verify_url(request)

    async def post(request: web.Request) -> web.Response:
        return await request.app[CHANNEL_KEY].callback(request)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/wecom/callback", get)
    app.router.add_post("/wecom/callback", post)
