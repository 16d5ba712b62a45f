"""``app[SENDERS]["dingtalk"]``: a Reply (outbox body) as one-to-one robot messages
(``/v1.0/robot/oToMessages/batchSend`` with ``msgKey`` ``sampleText``).

Buttons: an ActionCard (:mod:`bot.channels.dingtalk.cards`) whose buttons make the client
send their menu number back, so a tap and a typed "1" are the same numbered-menu answer
(:mod:`bot.channels.menus`). Buttons that do not fit a card, cards switched off
(``CUNBOT_DINGTALK_CARDS=false``), or a card DingTalk refuses (any error but a rate limit):
the numbered menu as text, sent once instead.

Results: the person in ``invalidStaffIdList`` is permanent (not in the organisation, or left);
in ``flowControlledStaffIdList``, or an HTTP 429 / QPS-limit code, waits and retries; a 5xx
or a connection error means DingTalk is unreachable (the delivery worker's breaker).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from bot.channels import menus
from bot.channels.base import http_send_failed
from bot.channels.bodies import TooLarge
from bot.channels.dingtalk import CHANNEL, cards
from bot.channels.dingtalk import texts as T
from bot.channels.dingtalk.api import DingTalkApi, DingTalkError
from bot.channels.split import split_bytes
from core.channel import ChannelLimits, RateLimit, SendResult
from core.messages import Reply

log = logging.getLogger(__name__)

# DingTalk's "调用频率限制" page for server APIs: an enterprise internal app may call the
# server API at most 20 times a second (per app, across all its processes). DingTalk
# documents no per-user number for robot one-to-one messages; a person it throttles comes
# back in ``flowControlledStaffIdList`` and the message waits (FLOW_CONTROL_WAIT).
LIMITS = ChannelLimits(overall=(RateLimit(20, 1),))
# msgParam may be up to 15,000 bytes (DingTalk's robot message docs); pieces stay well under.
TEXT_BYTES = 4000
FLOW_CONTROL_WAIT = 60.0  # seconds; DingTalk does not say how long a throttled user waits
RATE_LIMIT_WAIT = 5.0  # seconds after a QPS refusal (the limit is per second)


class DingTalkSender:
    name = CHANNEL
    limits = LIMITS

    def __init__(
        self, api: DingTalkApi, memory: menus.MenuMemory | None, use_cards: bool = True
    ) -> None:
        """``memory``: where a sent message's buttons are remembered; ``None`` for replies
        whose menu the inbound transaction already stored (MenuMemory.remember_replies).
        ``use_cards``: buttons as ActionCards; off, always the numbered menu."""
        self.api = api
        self.memory = memory
        self.use_cards = use_cards

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult:
        reply = Reply.from_dict(body)
        try:
            result = await self._deliver(external_id, reply)
        except (aiohttp.ClientError, TimeoutError, DingTalkError, OSError, ValueError) as exc:
            # ValueError: an answer that is not JSON (e.g. an HTML error page from a proxy)
            return http_send_failed("dingtalk", outbox_id, exc)
        except TooLarge:
            return SendResult(ok=False, error="dingtalk answer too large")
        if result.ok and self.memory is not None:
            await self.memory.remember(external_id, reply)
        return result

    async def _deliver(self, user: str, reply: Reply) -> SendResult:
        # Robot images need a public URL or an oapi media id: not offered, a note instead.
        note = T.PHOTO_NOT_SHOWN if reply.image else ""
        card = cards.build(reply, note) if self.use_cards else None
        if card is not None:
            status, data = await self.api.batch_send(user, *card)
            result = _result(status, data, user)
            if result.ok or result.permanent or result.retry_after is not None:
                return result  # as for any message: sent, the person is gone, or wait
            log.warning("dingtalk card refused (%s), sending the numbered menu", result.error)
        text = "\n".join(part for part in (menus.render(reply), note) if part)
        result = SendResult(ok=True)
        for piece in split_bytes(text or " ", TEXT_BYTES):
            param = json.dumps({"content": piece}, ensure_ascii=False)
            result = _result(*await self.api.batch_send(user, "sampleText", param), user)
            if not result.ok:
                return result
        return result


def _result(status: int, data: dict[str, Any], user: str) -> SendResult:
    code = str(data.get("code", ""))
    if status == 429 or "QpsLimit" in code or "Throttl" in code:
        return SendResult(ok=False, retry_after=RATE_LIMIT_WAIT, error=f"dingtalk {status} {code}")
    errcode = data.get("errcode", 0)
    if status != 200 or (errcode and str(errcode) != "0"):
        message = str(data.get("message") or data.get("errmsg") or "")
        detail = f"{code} errcode={errcode}" if errcode else code
        return SendResult(ok=False, error=f"dingtalk {status} {detail} {message}"[:500])
    if user in (data.get("invalidStaffIdList") or []):
        log.info("dingtalk user not reachable (invalidStaffIdList)")
        return SendResult(ok=False, permanent=True, error="dingtalk invalidStaffIdList")
    if user in (data.get("flowControlledStaffIdList") or []):
        return SendResult(
            ok=False, retry_after=FLOW_CONTROL_WAIT, error="dingtalk flowControlledStaffIdList"
        )
    return SendResult(ok=True)
