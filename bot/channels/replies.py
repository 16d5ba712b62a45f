"""Sending a handler's replies straight back on the channel the message came from.

Replies go out at once (the person is waiting), within the channel's limits where it drops
the excess silently (WeCom); one over the limit or refused for now (rate limit, network) is
put in the outbox with a key derived from the message id, so the delivery worker
retries it under the channel's limits and a second attempt can never send it twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web

from bot.appkeys import CLOCK, GATES, SESSIONMAKER
from core import keys
from core.channel import Sender
from core.messages import Incoming, Reply
from storage import outbox
from storage import people as people_store

log = logging.getLogger(__name__)

DEFAULT_RETRY = 5.0  # seconds, when the channel did not say how long to wait


async def send_replies(
    app: web.Application, sender: Sender, incoming: Incoming, replies: list[Reply]
) -> None:
    gates = app[GATES]
    for index, reply in enumerate(replies):
        if sender.limits.replies_too:
            wait = await gates.reserve(sender, incoming.sender_id, app[CLOCK].now())
            if wait > timedelta(0):  # over the channel's limit: the outbox sends it later
                await _queue(app, incoming, index, reply, wait.total_seconds())
                continue
        result = await sender.send(incoming.sender_id, reply.to_dict())
        if result.ok:
            continue
        if result.permanent:
            # As the delivery worker does: pushes stop going to this identity, and county staff
            # see it in the digest, until the person writes again (which sets it back to ok).
            log.warning(
                "reply undeliverable channel=%s msg=%s", incoming.channel, incoming.message_id
            )
            async with app[SESSIONMAKER]() as session, session.begin():
                await people_store.set_identity_status(
                    session, incoming.channel, incoming.sender_id, "blocked"
                )
            return
        await _queue(app, incoming, index, reply, result.retry_after)


async def _queue(
    app: web.Application, incoming: Incoming, index: int, reply: Reply, retry_after: float | None
) -> None:
    async with app[SESSIONMAKER]() as session, session.begin():
        person = await people_store.by_identity(session, incoming.channel, incoming.sender_id)
        if person is None:
            log.warning(
                "reply lost (unbound sender) channel=%s msg=%s",
                incoming.channel,
                incoming.message_id,
            )
            return
        now = app[CLOCK].now()
        await outbox.enqueue(
            session,
            recipient_id=person.id,
            body=reply.to_dict(),
            key=keys.reply(incoming.channel, incoming.message_id, index),
            now=now,
            not_before=now + timedelta(seconds=retry_after or DEFAULT_RETRY),
            priority=outbox.PRIORITY_REPLY,
            channel=incoming.channel,
        )
    log.info("reply queued for retry channel=%s msg=%s", incoming.channel, incoming.message_id)
