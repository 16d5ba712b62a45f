"""``app[SENDERS]["dingtalk"]``: a Reply (outbox body) as one-to-one robot messages
(``/v1.0/robot/oToMessages/batchSend`` with ``msgKey`` ``sampleText``).

Buttons: a robot's ActionCard buttons can only open a URL, they cannot post a payload back to
us, so a reply's buttons go out as the numbered menu the other text-only channels use
(:mod:`bot.channels.menus`): the person answers "1" and that becomes the button press.

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
from bot.channels.bodies import TooLarge
from bot.channels.dingtalk import CHANNEL
from bot.channels.dingtalk import texts as T
from bot.channels.dingtalk.api import DingTalkApi, DingTalkError
from bot.channels.split import split_bytes
from core.channel import ChannelLimits, RateLimit, SendResult
from core.messages import Reply

log = logging.getLogger(__name__)

DOWN = (aiohttp.ClientConnectionError, TimeoutError, ConnectionError)  # unreachable (breaker)
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

    def __init__(self, api: DingTalkApi, memory: menus.MenuMemory | None) -> None:
        """``memory``: where a sent message's buttons are remembered; ``None`` for replies
        whose menu the inbound transaction already stored (MenuMemory.remember_replies)."""
        self.api = api
        self.memory = memory

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult:
        reply = Reply.from_dict(body)
        text = menus.render(reply)
        if reply.image:  # robot images need a public URL or an oapi media id: not offered
            text = "\n".join(part for part in (text, T.PHOTO_NOT_SHOWN) if part)
        try:
            for piece in split_bytes(text or " ", TEXT_BYTES):
                param = json.dumps({"content": piece}, ensure_ascii=False)
                status, data = await self.api.batch_send(external_id, "sampleText", param)
                result = _result(status, data, external_id)
                if not result.ok:
                    return result
        except (aiohttp.ClientError, TimeoutError, DingTalkError, OSError, ValueError) as exc:
            # ValueError: an answer that is not JSON (e.g. an HTML error page from a proxy)
            log.warning("dingtalk send failed outbox=%s error=%r", outbox_id, exc)
            down = isinstance(exc, DOWN) or getattr(exc, "status", 0) >= 500
            return SendResult(ok=False, unavailable=down, error=repr(exc)[:500])
        except TooLarge:
            return SendResult(ok=False, error="dingtalk answer too large")
        if self.memory is not None:
            await self.memory.remember(external_id, reply)
        return SendResult(ok=True)


def _result(status: int, data: dict[str, Any], user: str) -> SendResult:
    code = str(data.get("code", ""))
    if status == 429 or "QpsLimit" in code or "Throttl" in code:
        return SendResult(ok=False, retry_after=RATE_LIMIT_WAIT, error=f"dingtalk {status} {code}")
    if status != 200:
        message = str(data.get("message", ""))
        return SendResult(ok=False, error=f"dingtalk {status} {code} {message}"[:500])
    if user in (data.get("invalidStaffIdList") or []):
        log.info("dingtalk user not reachable (invalidStaffIdList)")
        return SendResult(ok=False, permanent=True, error="dingtalk invalidStaffIdList")
    if user in (data.get("flowControlledStaffIdList") or []):
        return SendResult(
            ok=False, retry_after=FLOW_CONTROL_WAIT, error="dingtalk flowControlledStaffIdList"
        )
    return SendResult(ok=True)
