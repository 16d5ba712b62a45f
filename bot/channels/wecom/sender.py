"""``app[SENDERS]["wecom"]``: a Reply (outbox body) as message/send calls.

    image      media/upload, then an image message
    buttons    a template card (bot.channels.wecom.cards), after the text when the card
               cannot hold it; buttons that do not fit a card, or a card WeCom refuses with
               an errcode, go out as the numbered text menu (bot.channels.menus)
    text       text messages of at most 2048 bytes each

Results: 45009 (the API limit) waits and retries; 81013 or the person in ``invaliduser`` is
permanent; a 5xx or a connection error means WeCom is unreachable (the delivery worker's
breaker).
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any

import aiohttp

from bot.channels import menus
from bot.channels.base import http_send_failed
from bot.channels.split import split_bytes
from bot.channels.wecom import CHANNEL
from bot.channels.wecom.api import WeComApi, WeComError
from bot.channels.wecom.cards import Card, CardBook, build, new_task_id
from core.channel import ChannelLimits, RateLimit, SendResult
from core.messages import Reply
from services.media_store import MediaStore

log = logging.getLogger(__name__)

API_LIMIT = 45009
ALL_USERS_INVALID = 81013
TEXT_BYTES = 2048  # message/send text content limit (bytes, UTF-8)
RATE_LIMIT_WAIT = 60.0  # seconds; WeCom does not say how long to back off after 45009
# WeCom's per-member limit; the excess is dropped without an error, so replies count too.
LIMITS = ChannelLimits(per_recipient=(RateLimit(30, 60), RateLimit(1000, 3600)), replies_too=True)


class WeComSender:
    name = CHANNEL
    limits = LIMITS

    def __init__(
        self,
        api: WeComApi,
        agent_id: int,
        media: MediaStore,
        memory: menus.MenuMemory | None,
        cards: CardBook | None = None,
    ) -> None:
        """``memory``: where a sent message's buttons are remembered; ``None`` for replies
        whose menu the inbound transaction already stored (MenuMemory.remember_replies).
        ``cards``: where sent cards are recorded; ``None`` sends buttons as numbered menus."""
        self.api = api
        self.agent_id = agent_id
        self.media = media
        self.memory = memory
        self.cards = cards

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult:
        reply = Reply.from_dict(body)
        try:
            result = await self._deliver(external_id, reply)
        except (aiohttp.ClientError, TimeoutError, WeComError, OSError, ValueError) as exc:
            # ValueError: a body that is not JSON (e.g. an HTML error page from a proxy)
            return http_send_failed("wecom", outbox_id, exc)
        if result.ok and self.memory is not None:
            await self.memory.remember(external_id, reply)
        return result

    async def _deliver(self, user: str, reply: Reply) -> SendResult:
        if reply.image:
            data = await self.media.read(reply.image)
            if data is None:
                return SendResult(ok=False, permanent=True, error="image not in media store")
            media_id = await self.api.upload_image(data, PurePosixPath(reply.image).name)
            result = await self._message(user, "image", {"media_id": media_id})
            if not result.ok:
                return result
        card = build(reply, new_task_id()) if self.cards is not None else None
        if card is None:
            return await self._texts(user, menus.render(reply))
        return await self._card(user, reply, card)

    async def _card(self, user: str, reply: Reply, card: Card) -> SendResult:
        if card.lead:
            result = await self._texts(user, card.lead)
            if not result.ok:
                return result
        data = await self.api.send(self._payload(user, "template_card", card.body))
        result = _result(data)
        if result.ok:
            assert self.cards is not None
            await self.cards.sent(user, card)
            return result
        if result.permanent or result.retry_after is not None:
            return result  # as for any message: the person is gone, or wait for the limit
        log.warning("wecom card refused (%s), sending the numbered menu instead", result.error)
        # The text went out already when it led the card: then only the menu follows.
        return await self._texts(
            user, menus.render(Reply("", reply.buttons) if card.lead else reply)
        )

    async def _texts(self, user: str, text: str) -> SendResult:
        result = SendResult(ok=True)
        if text:
            for piece in split_bytes(text, TEXT_BYTES):
                result = await self._message(user, "text", {"content": piece})
                if not result.ok:
                    return result
        return result

    async def _message(self, user: str, msgtype: str, content: dict[str, Any]) -> SendResult:
        return _result(await self.api.send(self._payload(user, msgtype, content)))

    def _payload(self, user: str, msgtype: str, content: dict[str, Any]) -> dict[str, Any]:
        return {"touser": user, "msgtype": msgtype, "agentid": self.agent_id, msgtype: content}


def _result(data: dict[str, Any]) -> SendResult:
    code = int(data.get("errcode", 0))
    if code == API_LIMIT:
        return SendResult(ok=False, retry_after=RATE_LIMIT_WAIT, error="wecom 45009 api limit")
    if code == ALL_USERS_INVALID or data.get("invaliduser"):
        return SendResult(ok=False, permanent=True, error=f"wecom invaliduser errcode={code}")
    if code != 0:
        return SendResult(ok=False, error=f"wecom errcode={code} {data.get('errmsg', '')}"[:500])
    return SendResult(ok=True)
