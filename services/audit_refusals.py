"""Refusals are audited: who tried what on which object, and why it was refused.

A use case that refuses (``core.errors.Refused``, or ``NotFound`` for an id outside the
person's scope) raises, and the entry point rolls the whole unit of work back, audit rows
included. So the entry point calls one of these *after* the rollback: each writes one audit row
(``action="refused"``) in its own small transaction and one log line
(``refused person=%s action=%s object=%s msg=%s``). Chat (bot.inbound.unit), the JSON API and
the ledger download all come through here, so a cross-region attempt always leaves a trace.

Only refusals are recorded (not an invalid input or a conflict): those are the attempts on
something the person may not touch, or that does not exist for them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.errors import DomainError, NotFound, Refused
from core.messages import Incoming
from core.payloads import unpack
from core.privacy import mask_pii
from storage import audit
from storage import people as people_store
from storage.session import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

ACTION = "refused"
_OBJ_LEN = 64
_REASONS: dict[type[DomainError], str] = {Refused: "forbidden", NotFound: "not_found"}


def reason_of(err: BaseException) -> str | None:
    """The reason code of an audited refusal, ``None`` for errors that are not refusals."""
    for kind, code in _REASONS.items():
        if isinstance(err, kind):
            return code
    return None


async def record(
    session: AsyncSession,
    *,
    now: datetime,
    person_id: int | None,
    action: str,
    obj: str,
    reason: str,
    msg: str,
    via: str,
) -> None:
    """Write the refusal's audit row in ``session`` (the caller's own small transaction)."""
    obj = mask_pii(obj)[:_OBJ_LEN]
    await audit.log(
        session,
        at=now,
        person_id=person_id,
        action=ACTION,
        obj=obj,
        detail={"action": action[:_OBJ_LEN], "reason": reason, "msg": msg[:_OBJ_LEN], "via": via},
    )
    log.info("refused person=%s action=%s object=%s msg=%s", person_id, action, obj, msg)


async def record_apart(
    sessionmaker: async_sessionmaker,
    reason: str | None,
    *,
    now: datetime,
    person_id: int | None,
    action: str,
    obj: str,
    msg: str,
    via: str,
) -> None:
    """:func:`record` in a transaction of its own; nothing when ``reason`` is ``None`` (the
    error was not a refusal)."""
    if reason is None:
        return
    async with sessionmaker() as session, session.begin():
        await record(
            session,
            now=now,
            person_id=person_id,
            action=action,
            obj=obj,
            reason=reason,
            msg=msg,
            via=via,
        )


def _chat_action(incoming: Incoming) -> tuple[str, str]:
    """(action, object) of a chat message: a button's class prefix and payload, or a text's
    first word and the text."""
    if incoming.kind == "button":
        payload = unpack(incoming.payload)
        return (payload.PREFIX if payload else "button"), incoming.payload or "-"
    words = incoming.text.split()
    return (words[0] if words else incoming.kind), incoming.text or incoming.kind


async def chat(
    sessionmaker: async_sessionmaker, incoming: Incoming, err: BaseException, now: datetime
) -> None:
    """Audit a refused chat message (called by the inbound unit after its rollback). An
    unbound sender's refusal is logged but not written: it names nobody, and a row per
    stranger's message would let anyone fill the audit table."""
    reason = reason_of(err)
    if reason is None:
        return
    action, obj = _chat_action(incoming)
    async with sessionmaker() as session, session.begin():
        sender = await people_store.sender(session, incoming.channel, incoming.sender_id)
        if sender.person is None:
            log.info(
                "refused person=%s action=%s object=%s msg=%s",
                None,
                action,
                mask_pii(obj)[:_OBJ_LEN],
                incoming.message_id,
            )
            return
        await record(
            session,
            now=now,
            person_id=sender.person.id,
            action=action,
            obj=obj,
            reason=reason,
            msg=incoming.message_id,
            via=incoming.channel,
        )
