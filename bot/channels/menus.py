"""Quick-reply buttons as a numbered text menu, for channels without clickable buttons (WeCom
app messages).

A reply with buttons is sent as its text plus "1. 确认 / 2. 稍后" lines; the payloads are kept
in the person's prefs (``<channel>_menu``), so a reply of just "2" becomes that button press
even when the callback lands on another process than the one that sent the menu. Numbers refer
to the last message we sent: a later message with buttons replaces the menu, one without
clears it, and a menu older than ``ttl`` is ignored (so a bare "1" typed later is plain text).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from bot.channels.texts import MENU_HINT
from core.clock import Clock
from core.messages import Incoming, Reply
from storage import menus as menu_store
from storage.people import PersonDTO
from storage.session import AsyncSession, async_sessionmaker

MAX_OPTIONS = 20


def render(reply: Reply) -> str:
    lines = [reply.text] if reply.text else []
    if reply.buttons:
        lines += [f"{i}. {b.label}" for i, b in enumerate(reply.buttons[:MAX_OPTIONS], 1)]
        lines.append(MENU_HINT)
    if reply.link:
        lines.append(reply.link)
    return "\n".join(lines)


def choice_number(text: str) -> int | None:
    """``"2"``, ``"２"`` or ``"2."`` -> 2; anything else -> None."""
    cleaned = unicodedata.normalize("NFKC", text).strip().rstrip(".、")
    if cleaned.isdigit() and len(cleaned) <= 2:
        return int(cleaned)
    return None


class MenuMemory:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        clock: Clock,
        channel: str,
        ttl: timedelta = timedelta(hours=12),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.key = f"{channel}_menu"
        self.channel = channel
        self.ttl = ttl

    async def remember(self, external_id: str, reply: Reply) -> None:
        """After a push went out: its buttons are now the menu.

        A transaction of its own, on purpose: this runs inside ``Sender.send``, which the
        delivery worker calls after its claim transaction and which carries no session (the
        sender contract is transport only). The menu must be stored only once the message
        was sent, so it cannot ride on the outbox row's transaction either."""
        async with self.sessionmaker() as session, session.begin():
            found = await menu_store.lookup(session, self.channel, external_id, self.key)
            if found is not None:  # else not bound
                await self._store(session, found[0], found[1] is not None, reply)

    async def remember_replies(
        self,
        session: AsyncSession,
        incoming: Incoming,
        replies: list[Reply],
        person: PersonDTO | None,
    ) -> None:
        """An inbound hook (bot.inbound.AfterHook): the menu of the last reply, written in the
        message's own transaction (the caller's) before the replies go out. The sender's prefs were loaded
        with the message, so most messages (no buttons, no menu to clear) cost no query."""
        if not replies:
            return  # nothing is sent, the last menu still stands
        if person is None:  # after a refusal the sender is not known here: look them up
            found = await menu_store.lookup(session, self.channel, incoming.sender_id, self.key)
            if found is None:
                return
            person_id, has_menu = found[0], found[1] is not None
        else:
            person_id, has_menu = person.id, person.prefs.get(self.key) is not None
        await self._store(session, person_id, has_menu, replies[-1])

    async def _store(
        self, session: AsyncSession, person_id: int, has_menu: bool, reply: Reply
    ) -> bool:
        payloads = [b.payload for b in reply.buttons[:MAX_OPTIONS]]
        if not payloads and not has_menu:
            return False  # nothing to remember and nothing to clear: no write
        value = {"at": self.clock.now().isoformat(), "payloads": payloads} if payloads else None
        await menu_store.store(session, person_id, self.key, value)
        return True

    async def resolve(self, external_id: str, text: str) -> str | None:
        """The payload of the button numbered ``text`` in the last menu, if it is one."""
        number = choice_number(text)
        if number is None:
            return None
        async with self.sessionmaker() as session:
            found = await menu_store.lookup(session, self.channel, external_id, self.key)
        menu = found[1] if found else None
        if not menu:
            return None
        if self.clock.now() - datetime.fromisoformat(menu["at"]) > self.ttl:
            return None
        payloads = menu.get("payloads") or []
        return payloads[number - 1] if 1 <= number <= len(payloads) else None
