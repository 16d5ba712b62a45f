"""``app[SENDERS]["telegram"]``: a Reply (outbox body) as sendMessage / sendPhoto calls.

Telegram's limits (about 30 messages a second overall, one a second per chat) are declared in
``limits`` and enforced by the delivery worker; when Telegram still answers 429 the result
carries its ``retry_after``, and a 403 (the user blocked the bot) is permanent.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.split import split_chars
from bot.channels.telegram import CHANNEL
from core.channel import ChannelLimits, RateLimit, SendResult
from core.messages import Button, Reply
from services.media_store import MediaStore

log = logging.getLogger(__name__)
DOWN = (TelegramNetworkError, TelegramServerError)  # the Bot API is unreachable (breaker)

LIMITS = ChannelLimits(overall=(RateLimit(30, 1),), per_recipient=(RateLimit(1, 1),))
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64  # Telegram's limit on callback_data


def keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    rows = []
    for b in buttons:
        if len(b.payload.encode()) > CALLBACK_DATA_BYTES:
            # Handlers use short payloads ("task:ack:17"); a longer one cannot be a button.
            log.warning("button payload too long for telegram, dropped label=%s", b.label)
            continue
        rows.append([InlineKeyboardButton(text=b.label[:64], callback_data=b.payload)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


class TelegramSender:
    name = CHANNEL
    limits = LIMITS

    def __init__(self, bot: Bot, media: MediaStore) -> None:
        self.bot = bot
        self.media = media

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult:
        reply = Reply.from_dict(body)
        text = "\n".join(part for part in (reply.text, reply.link or "") if part)
        markup = keyboard(reply.buttons)
        try:
            chat_id = int(external_id)
        except ValueError:
            return SendResult(ok=False, permanent=True, error="telegram chat id is not a number")
        try:
            if reply.image:
                data = await self.media.read(reply.image)
                if data is None:
                    return SendResult(ok=False, permanent=True, error="image not in media store")
                fits = len(text) <= CAPTION_LIMIT
                await self.bot.send_photo(
                    chat_id,
                    BufferedInputFile(data, filename=PurePosixPath(reply.image).name),
                    caption=text if fits and text else None,
                    reply_markup=markup if fits else None,
                )
                if fits:
                    return SendResult(ok=True)
            pieces = split_chars(text or " ", TEXT_LIMIT)
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                await self.bot.send_message(chat_id, piece, reply_markup=markup if last else None)
        except TelegramRetryAfter as exc:
            return SendResult(ok=False, retry_after=float(exc.retry_after), error="telegram 429")
        except TelegramForbiddenError as exc:
            log.info("telegram chat blocked the bot outbox=%s", outbox_id)
            return SendResult(ok=False, permanent=True, error=f"telegram 403 {exc.message}"[:500])
        except TelegramBadRequest as exc:
            gone = "chat not found" in exc.message.lower()
            return SendResult(ok=False, permanent=gone, error=f"telegram 400 {exc.message}"[:500])
        except (TelegramAPIError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("telegram send failed outbox=%s error=%r", outbox_id, exc)
            down = not isinstance(exc, TelegramAPIError) or isinstance(exc, DOWN)
            return SendResult(ok=False, unavailable=down, error=repr(exc)[:500])
        return SendResult(ok=True)
