"""Messages sent with clickable buttons (WeCom template cards; see bot/channels/wecom/cards.py):
which buttons a card had, and the response code spent on updating it after a press.

A card is answered once: the first press with a response code never seen before claims it
(the code is stored), and every later claim of that card or that code is refused, so a
response code is never spent twice even when the same click arrives again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelCard


@dataclass(frozen=True)
class Claim:
    """The claimed card's buttons as (label, payload); ``refused`` says why there are none."""

    buttons: tuple[tuple[str, str], ...] = ()
    refused: str = ""


async def record(
    session: AsyncSession,
    channel: str,
    card_id: str,
    external_id: str,
    buttons: list[tuple[str, str]],
    now: datetime,
    keep_since: datetime,
) -> None:
    """A card that went out; this person's cards sent before ``keep_since`` are forgotten
    (a press on one of those still counts, only its card is no longer updated)."""
    await session.execute(
        sa.delete(ChannelCard).where(
            ChannelCard.channel == channel,
            ChannelCard.external_id == external_id,
            ChannelCard.sent_at < keep_since,
        )
    )
    session.add(
        ChannelCard(
            channel=channel,
            card_id=card_id,
            external_id=external_id,
            buttons=[[label, payload] for label, payload in buttons],
            sent_at=now,
        )
    )


async def claim(
    session: AsyncSession,
    channel: str,
    card_id: str,
    external_id: str,
    response_code: str,
    now: datetime,
) -> Claim:
    """Spend ``response_code`` on this person's card, once: refused for an unknown card, a
    card already answered, or a code already spent."""
    used = await session.scalar(
        sa.select(ChannelCard.id).where(ChannelCard.response_code == response_code)
    )
    if used is not None:
        return Claim(refused="code already used")
    mine = (
        ChannelCard.channel == channel,
        ChannelCard.card_id == card_id,
        ChannelCard.external_id == external_id,
    )
    result = await session.execute(
        sa.update(ChannelCard)
        .where(*mine, ChannelCard.response_code.is_(None))
        .values(response_code=response_code, answered_at=now)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        known = await session.scalar(sa.select(ChannelCard.id).where(*mine))
        return Claim(refused="card already answered" if known else "unknown card")
    buttons = await session.scalar(sa.select(ChannelCard.buttons).where(*mine))
    return Claim(buttons=tuple((str(b[0]), str(b[1])) for b in buttons or []))


async def settle(session: AsyncSession, channel: str, card_id: str, outcome: str) -> None:
    """What became of the update (``updated``, or the refusal): for the log and the curious."""
    await session.execute(
        sa.update(ChannelCard)
        .where(ChannelCard.channel == channel, ChannelCard.card_id == card_id)
        .values(outcome=outcome[:200])
    )
