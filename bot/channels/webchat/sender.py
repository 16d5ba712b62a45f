"""The web chat's outbox sender: a push is stored in the browser's history and sent live to
its open pages."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from bot.channels.webchat import CHANNEL
from bot.channels.webchat.protocol import frame
from core.channel import ChannelLimits, SendResult
from storage import webchat as store

if TYPE_CHECKING:
    from bot.channels.webchat.hub import WebChatHub


class WebChatSender:
    """Delivers outbox rows: stored in the browser's history, pushed live to open pages."""

    name = CHANNEL
    limits = ChannelLimits()

    def __init__(self, hub: WebChatHub) -> None:
        self.hub = hub

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult:
        async with self.hub.sessionmaker() as session, session.begin():
            ident = await store.identity(session, CHANNEL, external_id)
            if ident is None:
                return SendResult(ok=False, permanent=True, error="webchat browser not bound")
            # At-least-once delivery may send a row twice; the history keeps it once.
            if outbox_id is None or not await store.has_outbox_message(
                session, ident.identity_id, outbox_id
            ):
                await store.add_message(
                    session, ident.identity_id, "out", body, self.hub.clock.now(), outbox_id
                )
        push_id = f"push-{outbox_id}" if outbox_id is not None else f"push-{uuid.uuid4().hex}"
        reached = await self.hub.push(external_id, [frame("push", body, id=push_id)])
        return SendResult(ok=True, delivered=reached > 0)
