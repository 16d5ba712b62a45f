"""Telegram channel with aiogram 3 as the transport: long polling (default) or webhook.

    getUpdates / POST /telegram/webhook -> aiogram Update -> Incoming -> Inbound -> replies
    replies and outbox pushes -> sendMessage (inline keyboard) / sendPhoto

The Bot API server is a setting (aiogram's TelegramAPIServer), which is also how tests reach a
local fake server. The external id of a Telegram identity is the chat id (a private chat's id
equals the user's id), because that is what sendMessage needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import AiogramError, TelegramAPIError
from aiogram.types import Audio, CallbackQuery, Message, Update, Voice
from aiohttp import web

from bot.appkeys import CLOCK, CONFIG, INBOUND, MEDIA
from bot.channels import texts
from bot.channels.base import CHANNEL_DRAIN, install, spawn, wait_for
from bot.channels.bodies import TooLarge, read_limited
from bot.channels.ingest import PhotoRefused, ingest_photo
from bot.channels.order import KeyedLocks
from bot.channels.replies import send_replies
from bot.channels.telegram import CHANNEL
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.settings import TelegramSettings
from bot.config import ConfigError
from core.inputs import finite
from core.messages import MAX_TEXT, Incoming, Kind, Reply
from core.text import clean_text

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
MAX_UPDATE = 256 * 1024  # an update is a few kB; photos arrive as file ids
POLLING_TIMEOUT = 10  # seconds a getUpdates call may wait
# Polling: once getUpdates has moved past an update, Telegram never sends it again, so an update
# that could not be stored (the database is away) is kept here and stored again, backing off
# up to STORE_RETRY_MAX between tries, for at most STORE_RETRY_FOR.
STORE_RETRY_FIRST = 0.5
STORE_RETRY_MAX = 30.0
STORE_RETRY_FOR = 3600.0
ALLOWED_UPDATES = ["message", "callback_query"]
# Errors of a photo download that become a "photo not received" notice: AiogramError covers
# TelegramAPIError and ClientDecodeError (a non-JSON answer, e.g. a proxy's 502 page).
DOWNLOAD_ERRORS = (AiogramError, aiohttp.ClientError, TimeoutError, ValueError)


class NotStored(Exception):
    """The inbound flow failed before the message was stored (the database is away)."""


class TelegramChannel:
    name = CHANNEL

    def __init__(self, app: web.Application, bot: Bot) -> None:
        self.app = app
        self.bot = bot
        self.settings = app[CONFIG].section(TelegramSettings)
        self.sender = TelegramSender(bot, app[MEDIA])
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(self._router())
        # Updates are handled concurrently, but one chat's messages in arrival order.
        self._chats = KeyedLocks()
        self._active: set[asyncio.Task[Any]] = set()
        self._polling: asyncio.Task[None] | None = None

    def _router(self) -> Router:
        router = Router(name="cunbot")
        router.message.register(self.on_message)
        router.callback_query.register(self.on_callback, F.data)
        return router

    @contextlib.asynccontextmanager
    async def _in_order(self, chat: str) -> AsyncIterator[None]:
        """One chat's updates one at a time (photo download included), in arrival order; and
        tracked, so shutdown can wait for them."""
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        try:
            async with self._chats.hold(chat):
                yield
        finally:
            if task is not None:
                self._active.discard(task)

    async def on_message(self, message: Message) -> None:
        if message.chat.type != "private":
            # An identity is one person: a group chat would make a whole group one cadre.
            log.info("telegram non-private chat ignored chat=%s", message.chat.id)
            return
        async with self._in_order(str(message.chat.id)):
            await self._on_message(message)

    async def _on_message(self, message: Message) -> None:
        chat = str(message.chat.id)
        base: dict[str, Any] = {
            "channel": CHANNEL,
            "sender_id": chat,
            "message_id": f"{chat}:{message.message_id}",
            "ts": message.date,
        }
        image = _image_of(message)
        voice = message.voice or message.audio
        if image is not None or voice is not None:
            file_id, size = image or _voice_of(voice)
            try:
                stored = await ingest_photo(
                    self.app[MEDIA],
                    lambda: self._download(file_id),
                    size=size,
                    notice_on=DOWNLOAD_ERRORS,
                    message_id=base["message_id"],
                    voice=image is None,
                )
            except PhotoRefused as refused:
                await self._notice(chat, Reply(refused.text))
                return
            caption = clean_text(message.caption or "", MAX_TEXT)
            kind: Kind = "photo" if image is not None else "voice"
            incoming = Incoming(kind=kind, photo=stored.to_dict(), text=caption, **base)
        elif message.location and (place := _place(message)) is not None:
            lat, lon, label = place
            incoming = Incoming(kind="location", lat=lat, lon=lon, label=label, **base)
        elif message.text is not None and (text := clean_text(message.text)).strip():
            incoming = Incoming(kind="text", text=text, **base)
        else:
            log.info("telegram message type not supported msg=%s", base["message_id"])
            await self._notice(chat, Reply(texts.UNSUPPORTED))
            return
        await self._receive(incoming)

    async def on_callback(self, query: CallbackQuery) -> None:
        chat = str(query.message.chat.id) if query.message else str(query.from_user.id)
        async with self._in_order(chat):
            await self._on_callback(query, chat)

    async def _on_callback(self, query: CallbackQuery, chat: str) -> None:
        # Answer first: the client shows a spinner on the button until we do. A query older
        # than Telegram's answer window is refused; the press itself still counts.
        with contextlib.suppress(TelegramAPIError, aiohttp.ClientError, TimeoutError):
            await self.bot.answer_callback_query(query.id)
        incoming = Incoming(
            channel=CHANNEL,
            sender_id=chat,
            message_id=f"cb:{query.id}"[:128],
            kind="button",
            payload=clean_text(query.data or "", 128),
            ts=self.app[CLOCK].now(),
        )
        await self._receive(incoming)

    async def _receive(self, incoming: Incoming) -> None:
        delay, waited = STORE_RETRY_FIRST, 0.0
        while True:
            try:
                replies = await self.app[INBOUND].receive(incoming)
                break
            except Exception as exc:
                # Nothing stored. The webhook asks Telegram to send it again (503); polling
                # has no second chance, so the update waits here for the database.
                if self.settings.mode == "webhook" or waited >= STORE_RETRY_FOR:
                    raise NotStored(incoming.message_id) from exc
                log.warning(
                    "telegram update not stored, retrying in %.1f s msg=%s",
                    delay,
                    incoming.message_id,
                )
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, STORE_RETRY_MAX)
        await send_replies(self.app, self.sender, incoming, replies or [])

    async def _notice(self, chat: str, reply: Reply) -> None:
        await self.sender.send(chat, reply.to_dict())

    async def _download(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        if not file.file_path:
            raise ValueError("getFile returned no file_path")
        buf = io.BytesIO()
        await self.bot.download_file(file.file_path, destination=buf)
        return buf.getvalue()

    async def webhook(self, request: web.Request) -> web.Response:
        secret = self.settings.webhook_secret.get_secret_value()
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram webhook rejected: bad secret peer=%s", request.remote)
            return web.Response(status=401, text="bad secret")
        if (request.content_length or 0) > MAX_UPDATE:
            log.warning("telegram webhook rejected: body too large")
            return web.Response(status=413, text="too large")
        try:
            raw = await read_limited(request.content, MAX_UPDATE)
            update = Update.model_validate_json(raw, context={"bot": self.bot})
        except (ValueError, TooLarge) as exc:
            log.warning("telegram webhook rejected: %s", str(exc).splitlines()[0][:200])
            return web.Response(status=400, text="bad update")
        # Handle, then answer: Telegram waits for the answer (unlike WeCom's 5 seconds) and sends
        # the update again if it gets none or a non-2xx one, so a process that stops midway, or
        # a database that is away, loses nothing; the inbox makes the second delivery a no-op.
        # Tracked, so shutdown waits for it.
        stored = await asyncio.shield(spawn(self.app, self._feed(update), f"tg:{update.update_id}"))
        if not stored:
            return web.Response(status=503, text="retry")
        return web.Response(text="ok")

    async def _feed(self, update: Update) -> bool:
        """Handle one update; ``False`` when it could not be stored (Telegram should resend)."""
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except NotStored:
            log.warning("telegram update not stored update=%s", update.update_id, exc_info=True)
            return False
        except Exception:  # nobody awaits this task: log here or lose the error
            log.exception("telegram update failed update=%s", update.update_id)
        return True

    async def start(self) -> None:
        if self.settings.mode == "webhook":
            url = self.app[CONFIG].public_url + WEBHOOK_PATH
            await self.bot.set_webhook(
                url,
                secret_token=self.settings.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram webhook set url=%s", url)
            return
        # getUpdates is refused while a webhook is set (e.g. left over from webhook mode).
        await self.bot.delete_webhook()
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                polling_timeout=POLLING_TIMEOUT,
                handle_signals=False,  # the app owns signals and shutdown
                close_bot_session=False,
                allowed_updates=ALLOWED_UPDATES,
                tasks_concurrency_limit=64,
            ),
            name="telegram-polling",
        )

    async def stop(self) -> None:
        if self._polling is not None:
            if not self._polling.done():
                with contextlib.suppress(RuntimeError):  # polling never got going
                    await self.dispatcher.stop_polling()
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        await wait_for(set(self._active), CHANNEL_DRAIN)


def _place(message: Message) -> tuple[float, float, str] | None:
    """A location's finite, in-range coordinates and cleaned label, or None."""
    assert message.location is not None
    lat = finite(message.location.latitude, 90)
    lon = finite(message.location.longitude, 180)
    if lat is None or lon is None:
        return None
    return lat, lon, clean_text(message.venue.title if message.venue else "", 200)


def _voice_of(voice: Voice | Audio | None) -> tuple[str, int]:
    """(file id, size) of a voice message (OGG/Opus) or an audio file."""
    assert voice is not None
    return voice.file_id, voice.file_size or 0


def _image_of(message: Message) -> tuple[str, int] | None:
    """(file id, size) of the photo in a message: the largest size of a photo, or an image
    sent as a file (phones send "original quality" photos that way, EXIF time intact)."""
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return largest.file_id, largest.file_size or 0
    doc = message.document
    if doc is not None and (doc.mime_type or "").startswith("image/"):
        return doc.file_id, doc.file_size or 0
    return None


def make_bot(token: str, api_base: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    return Bot(token, session=session)


CHANNEL_KEY = web.AppKey("telegram_channel", TelegramChannel)


@contextlib.asynccontextmanager
async def _open(app: web.Application) -> AsyncIterator[TelegramChannel]:
    settings = app[CONFIG].section(TelegramSettings)
    bot = make_bot(settings.token.get_secret_value(), settings.api_base)
    try:
        yield TelegramChannel(app, bot)
    finally:
        await bot.session.close()


def setup(app: web.Application) -> None:
    settings = app[CONFIG].section(TelegramSettings)
    if settings.mode == "webhook" and not settings.webhook_secret.get_secret_value():
        raise ConfigError("配置错误 CUNBOT_TELEGRAM_WEBHOOK_SECRET: required in webhook mode")

    async def webhook(request: web.Request) -> web.Response:
        return await request.app[CHANNEL_KEY].webhook(request)

    install(app, CHANNEL_KEY, _open)
    if settings.mode == "webhook":
        app.router.add_post(WEBHOOK_PATH, webhook)
