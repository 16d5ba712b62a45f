"""Web chat identities and history (table ``webchat_messages``).

History holds what a bound browser said and what the bot said or pushed to it, so a reopened
page shows the conversation. Only the newest messages are ever read back (bounded).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import inbound_tx, inbox
from storage.models import Audit, Identity, Person, WebChatMessage

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class WebIdentity:
    identity_id: int
    person_id: int
    external_id: str


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    direction: str  # in | out
    body: dict[str, Any]
    outbox_id: int | None
    created_at: datetime


async def identity(session: AsyncSession, channel: str, external_id: str) -> WebIdentity | None:
    """The bound, usable identity of a browser, or ``None`` (unbound, blocked, or inactive).
    ``channel``: the web chat's name, which the channel owns (bot.channels.webchat)."""
    row = (
        await session.execute(
            sa.select(Identity.id, Identity.person_id)
            .join(Person, Person.id == Identity.person_id)
            .where(
                Identity.channel == channel,
                Identity.external_id == external_id,
                Identity.status == "ok",
                Person.active,
            )
        )
    ).first()
    return WebIdentity(row[0], row[1], external_id) if row else None


async def add_message(
    session: AsyncSession,
    identity_id: int,
    direction: str,
    body: dict[str, Any],
    now: datetime,
    outbox_id: int | None = None,
) -> int:
    if direction not in ("in", "out"):
        raise ValueError(f"direction must be in or out, not {direction!r}")
    row = WebChatMessage(
        identity_id=identity_id,
        direction=direction,
        body=body,
        outbox_id=outbox_id,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id


async def add_messages(
    session: AsyncSession,
    identity_id: int,
    messages: list[tuple[str, dict[str, Any]]],
    now: datetime,
) -> None:
    """Several (direction, body) entries in one statement (a message and its replies)."""
    if any(direction not in ("in", "out") for direction, _ in messages):
        raise ValueError("direction must be in or out")
    if not messages:
        return
    tx = inbound_tx.current(session)
    if tx is not None:  # the message's own transaction on PostgreSQL: written with its COMMIT
        tx.add_history(identity_id, messages, now)
        return
    params: dict[str, Any] = {"identity_id": identity_id, "created_at": now}
    for i, (direction, body) in enumerate(messages):
        params[f"d{i}"] = direction
        params[f"b{i}"] = body
    await session.execute(_insert_rows(len(messages)), params)


@functools.lru_cache(maxsize=16)
def _insert_rows(count: int) -> sa.TextClause:
    """One multi-row INSERT for ``count`` entries, built once per count: a single statement
    per message (rather than an executemany, which costs more per row in the driver), the
    same SQL on both backends, with the columns' types (JSON, UTC datetimes)."""
    table = cast(sa.Table, WebChatMessage.__table__)
    rows = ", ".join(f"(:identity_id, :d{i}, :b{i}, :created_at)" for i in range(count))
    binds = [
        sa.bindparam("identity_id", type_=table.c.identity_id.type),
        sa.bindparam("created_at", type_=table.c.created_at.type),
    ]
    for i in range(count):
        binds.append(sa.bindparam(f"d{i}", type_=table.c.direction.type))
        binds.append(sa.bindparam(f"b{i}", type_=table.c.body.type))
    return sa.text(
        f"INSERT INTO {table.name} (identity_id, direction, body, created_at) VALUES {rows}"
    ).bindparams(*binds)


async def has_outbox_message(session: AsyncSession, identity_id: int, outbox_id: int) -> bool:
    """True when this outbox row is already in the history (a re-sent push is stored once)."""
    found = await session.scalar(
        sa.select(WebChatMessage.id)
        .where(WebChatMessage.identity_id == identity_id, WebChatMessage.outbox_id == outbox_id)
        .limit(1)
    )
    return found is not None


async def history(
    session: AsyncSession, identity_id: int, limit: int = HISTORY_LIMIT
) -> list[HistoryEntry]:
    """The newest ``limit`` messages of one identity, oldest first."""
    rows = await session.scalars(
        sa.select(WebChatMessage)
        .where(WebChatMessage.identity_id == identity_id)
        .order_by(WebChatMessage.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    entries = [
        HistoryEntry(r.id, r.direction, dict(r.body), r.outbox_id, r.created_at) for r in rows
    ]
    entries.reverse()
    return entries


# --- sessions and rate windows (read from rows that exist anyway: no counter table) ---------
async def move_identity(session: AsyncSession, channel: str, old: str, new: str) -> bool:
    """Give a bound browser a new id (a fresh session after binding): the old id no longer
    maps to anyone. False when ``old`` was not bound."""
    result = await session.execute(
        sa.update(Identity)
        .where(Identity.channel == channel, Identity.external_id == old)
        .values(external_id=new)
    )
    return bool(cast(sa.CursorResult[Any], result).rowcount)


async def retire_identity(session: AsyncSession, channel: str, external_id: str) -> int | None:
    """Log a browser (or chat) out: the identity row stays (its history and audit refer to
    it) but under an id no client can present, with status ``invalid``. Returns its id."""
    identity_id = await session.scalar(
        sa.select(Identity.id).where(
            Identity.channel == channel, Identity.external_id == external_id
        )
    )
    if identity_id is None:
        return None
    await session.execute(
        sa.update(Identity)
        .where(Identity.id == identity_id)
        .values(external_id=f"retired:{identity_id}:{external_id}"[:128], status="invalid")
    )
    return int(identity_id)


async def recent_inbox_texts(
    session: AsyncSession, channel: str, sender_id: str, since: datetime, limit: int
) -> list[str]:
    """The texts (``""`` for other kinds) of the newest ``limit`` inbox rows of one sender
    received since ``since``: what an unbound visitor has stored lately."""
    rows = await inbox.recent_payloads(session, channel, sender_id, since, limit)
    return [str(p.get("text") or "") for p in rows]


async def recent_audit_times(
    session: AsyncSession, action: str, obj: str, since: datetime, limit: int
) -> list[datetime]:
    """When the newest ``limit`` audit rows of ``action`` on ``obj`` since ``since`` were
    written, newest first (the rate windows of failed binds)."""
    rows = await session.scalars(
        sa.select(Audit.at)
        .where(Audit.action == action, Audit.object == obj, Audit.at >= since)
        .order_by(Audit.at.desc())
        .limit(limit)
    )
    return list(rows)
