"""WeCom template cards (模板卡片, card_type ``button_interaction``): a reply's buttons as
buttons the person taps, the tap as the same button press as on every other channel, and the
card updated once afterwards.

    Reply(text, buttons) -> card: main_title = the first line, sub_title_text = the rest,
        button_list = the buttons (key = the payload), task_id = a fresh random id
        (a text too long for a card goes first as text, and the card carries its first line)
    tap -> callback event template_card_event (EventKey = the key, TaskId, ResponseCode)
        -> Incoming(kind="button", payload=EventKey), deduplicated in the inbox like any
           callback; the payload is as untrusted as a typed "2"
        -> once handled: message/update_template_card with that ResponseCode, the buttons
           replaced by one greyed-out button ("已确认收到", or the label pressed)

A response code can be spent once and within 72 hours. The card's row (storage.cards) takes
the first code and refuses every later one (the same click delivered again, a second tap
before the update landed), the update is tried once, and a refusal is recorded, never
retried. A later reminder is a new message: a fresh card with a new task_id.

A reply whose buttons do not fit a card (more than six, a label over ten characters, a
repeated or very long payload) keeps the numbered text menu, and so does a card WeCom
refuses (:class:`bot.channels.wecom.sender.WeComSender`).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.channels.wecom import CHANNEL
from bot.channels.wecom import texts as T
from bot.channels.wecom.api import WeComApi, WeComError
from core.clock import Clock
from core.messages import Button, Reply
from core.text import clean_text
from storage import cards as card_store
from storage.session import async_sessionmaker

log = logging.getLogger(__name__)

CARD_TYPE = "button_interaction"
EVENT = "template_card_event"
MAX_BUTTONS = 6  # WeCom: button_list has at most 6 entries
BUTTON_CHARS = 10  # WeCom: a button's text "不超过10个字"
KEY_BYTES = 1024  # WeCom: a button's key, at most 1024 bytes, unique in its card
TITLE_CHARS = 36  # main_title.title
SUB_TITLE_CHARS = 160  # sub_title_text
STYLE_FIRST, STYLE_OTHER = 1, 2  # the first button stands out, the others are plain
TASK_ID = re.compile(r"[A-Za-z0-9_@-]{1,128}")  # WeCom's rule for task_id
RESPONSE_CODE = re.compile(r"[\x21-\x7e]{1,512}")  # opaque; printable ASCII, bounded
CODE_LIFETIME = timedelta(hours=72)  # a response code is good this long after the tap
KEEP_CARDS = timedelta(days=30)  # a person's older cards are forgotten (no update after a tap)


@dataclass(frozen=True)
class Card:
    task_id: str
    body: dict[str, Any]  # message/send's template_card object
    buttons: tuple[Button, ...]
    lead: str = ""  # text sent before the card when the card cannot hold it all


@dataclass(frozen=True)
class CardPress:
    """A tap on one of our cards, as the callback told it."""

    task_id: str
    response_code: str
    key: str
    at: datetime  # the callback's CreateTime


def new_task_id() -> str:
    return "cunbot_" + secrets.token_hex(12)


def fits(buttons: tuple[Button, ...]) -> bool:
    """Whether these buttons can be a card's button_list."""
    payloads = [b.payload for b in buttons]
    return (
        1 <= len(buttons) <= MAX_BUTTONS
        and len(set(payloads)) == len(payloads)
        and all(0 < len(b.label) <= BUTTON_CHARS for b in buttons)
        and all(0 < len(b.payload.encode()) <= KEY_BYTES for b in buttons)
    )


def build(reply: Reply, task_id: str) -> Card | None:
    """The card for a reply with buttons, or None when they do not fit one."""
    if not fits(reply.buttons):
        return None
    text = "\n".join(part for part in (reply.text, reply.link or "") if part).strip()
    head, _, rest = text.partition("\n")
    lead = ""
    if len(head) > TITLE_CHARS or len(rest) > SUB_TITLE_CHARS:
        lead, rest = text, ""
        head = head[: TITLE_CHARS - 1] + "…" if len(head) > TITLE_CHARS else head
    body: dict[str, Any] = {
        "card_type": CARD_TYPE,
        "main_title": {"title": head or T.CARD_TITLE},
        "task_id": task_id,
        "button_list": [
            {"text": b.label, "style": STYLE_FIRST if i == 0 else STYLE_OTHER, "key": b.payload}
            for i, b in enumerate(reply.buttons)
        ],
    }
    if rest:
        body["sub_title_text"] = rest
    return Card(task_id, body, reply.buttons, lead)


def press_of(msg: dict[str, str], at: datetime) -> CardPress | None:
    """The card tap in a decrypted callback, or None (another event, or ids not WeCom's)."""
    if msg.get("MsgType") != "event" or msg.get("Event") != EVENT:
        return None
    task_id, code = msg.get("TaskId", ""), msg.get("ResponseCode", "")
    if not TASK_ID.fullmatch(task_id) or not RESPONSE_CODE.fullmatch(code):
        log.info("wecom card event without a usable TaskId or ResponseCode")
        return None
    return CardPress(task_id, code, clean_text(msg.get("EventKey", ""), 128), at)


def pressed_name(buttons: tuple[tuple[str, str], ...], key: str) -> str:
    """The greyed-out button's text after the tap on ``key``."""
    label = next((label for label, payload in buttons if payload == key), None)
    if label is None:
        return T.CARD_PRESSED_UNKNOWN
    return T.CARD_PRESSED_BY_LABEL.get(label) or T.CARD_PRESSED.format(label=label)


class CardBook:
    """The cards this app sent (storage.cards) and each one's single update after a tap."""

    def __init__(
        self, sessionmaker: async_sessionmaker, clock: Clock, api: WeComApi, agent_id: int
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.api = api
        self.agent_id = agent_id

    async def sent(self, user: str, card: Card) -> None:
        """After message/send took the card: remember its buttons for the update."""
        now = self.clock.now()
        buttons = [(b.label, b.payload) for b in card.buttons]
        try:
            async with self.sessionmaker() as session, session.begin():
                await card_store.record(
                    session, CHANNEL, card.task_id, user, buttons, now, now - KEEP_CARDS
                )
        except Exception:  # the card is out: failing the send now would send it twice
            log.warning("wecom card not recorded task=%s", card.task_id, exc_info=True)

    async def answer(self, user: str, press: CardPress) -> str:
        """Spend the tap's response code on updating its card, once; returns the outcome
        (``updated``, or why not)."""
        now = self.clock.now()
        if now - press.at > CODE_LIFETIME:
            log.info("wecom card not updated task=%s: code expired", press.task_id)
            return "code expired"
        async with self.sessionmaker() as session, session.begin():
            claim = await card_store.claim(
                session, CHANNEL, press.task_id, user, press.response_code, now
            )
        if claim.refused:
            log.info("wecom card not updated task=%s: %s", press.task_id, claim.refused)
            return claim.refused
        outcome = await self._update(user, press, pressed_name(claim.buttons, press.key))
        async with self.sessionmaker() as session, session.begin():
            await card_store.settle(session, CHANNEL, press.task_id, outcome)
        return outcome

    async def _update(self, user: str, press: CardPress, name: str) -> str:
        body = {
            "userids": [user],
            "agentid": self.agent_id,
            "response_code": press.response_code,
            "button": {"replace_name": name},
        }
        try:
            data = await self.api.update_template_card(body)
        except (aiohttp.ClientError, TimeoutError, WeComError, ValueError) as exc:
            # The code may be spent already (the request could have reached WeCom): no retry.
            log.warning("wecom card update failed task=%s error=%r", press.task_id, exc)
            return f"failed {exc!r}"
        code = int(data.get("errcode", 0))
        if code != 0:
            log.warning("wecom card update refused task=%s errcode=%s", press.task_id, code)
            return f"refused errcode={code} {data.get('errmsg', '')}"
        return "updated"
