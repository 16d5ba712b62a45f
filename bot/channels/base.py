"""The inbound side of the channel contract, next to the outbound one (``core.channel.Sender``).

A channel is one folder, ``bot/channels/<name>/``, listed once in ``bot.channels.registry``
(its name, its settings section, its module). The module's ``setup(app)`` adds its routes and
calls :func:`install` with a factory that opens a :class:`Channel`; the shared work lives in
small modules beside this one and a channel only adapts its transport to it:

    bodies.read_limited       a bounded request body
    ingest.ingest_photo       size check, download, validate + store, the notice on refusal
    split                     the length check and splitting for the channel's limit
    replies.send_replies      answer at once within the channel's limits, else the outbox
    order.KeyedLocks          one message at a time per sender (``Inbound`` holds one)
    spawn / drain (here)      background work the app waits for on shutdown

    message -> channel -> Incoming -> app[INBOUND] (inbox, router, handler: one transaction)
            -> replies.send_replies -> channel.sender
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

import aiohttp
from aiohttp import web

from bot.appkeys import BACKGROUND, SENDERS
from core.channel import Sender, SendResult

log = logging.getLogger(__name__)

# An HTTP chat API that cannot be reached at all (trips the delivery worker's breaker).
HTTP_DOWN = (aiohttp.ClientConnectionError, TimeoutError, ConnectionError)


def http_send_failed(channel: str, outbox_id: int | None, exc: BaseException) -> SendResult:
    """The result of a send to an HTTP chat API (WeCom, DingTalk) that raised: logged, and
    "unavailable" when the API is unreachable or answered 5xx, so the outbox retries later."""
    log.warning("%s send failed outbox=%s error=%r", channel, outbox_id, exc)
    down = isinstance(exc, HTTP_DOWN) or getattr(exc, "status", 0) >= 500
    return SendResult(ok=False, unavailable=down, error=repr(exc)[:500])


# Seconds a channel's in-flight replies get to finish before its transport closes.
CHANNEL_DRAIN = 10.0


class Channel(Protocol):
    """A running channel: its outbox sender, and the start and stop of its transport."""

    @property
    def name(self) -> str:
        """Identity.channel and Incoming.channel of its messages (bot.channels.registry)."""

    @property
    def sender(self) -> Sender:
        """Registered in ``app[SENDERS][name]`` while the channel runs."""

    async def start(self) -> None:
        """Start taking messages (a polling loop, a webhook registration; often nothing)."""

    async def stop(self) -> None:
        """Stop taking messages; work already started is drained afterwards."""


C = TypeVar("C", bound=Channel)


def install(
    app: web.Application,
    key: web.AppKey[C],
    open_channel: Callable[[web.Application], AbstractAsyncContextManager[C]],
    *,
    drain: float | None = CHANNEL_DRAIN,
) -> None:
    """Run a channel for the app's lifetime: open it (with its transport), register its
    sender, start; on shutdown unregister, stop, and give the replies still being handled
    ``drain`` seconds before the transport closes (``None``: the app's own wait covers it)."""

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with open_channel(app) as channel:
            app[key] = channel
            app[SENDERS][channel.name] = channel.sender
            await channel.start()
            yield
            app[SENDERS].pop(channel.name, None)
            await channel.stop()
            if drain is not None:
                background = app[BACKGROUND]
                await wait_for(background, drain)

    app.cleanup_ctx.append(lifecycle)


def spawn(app: web.Application, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    """Run work in the background but keep a reference, and wait for it on shutdown."""
    task = asyncio.create_task(coro, name=name)
    app[BACKGROUND].add(task)
    task.add_done_callback(app[BACKGROUND].discard)
    return task


async def wait_for(
    tasks: Collection[asyncio.Task[Any]], seconds: float, *, cancel: bool = False
) -> int:
    """The shutdown wait: give unfinished ``tasks`` up to ``seconds``; with
    ``cancel``, cancel the ones still running then. Returns how many were still running."""
    pending = [t for t in tasks if not t.done()]
    if not pending:
        return 0
    log.info("shutdown: waiting for %d in-flight tasks", len(pending))
    _, late = await asyncio.wait(pending, timeout=seconds)
    if cancel:
        for task in late:
            log.warning("shutdown: cancelling %s after %ss", task.get_name(), seconds)
            task.cancel()
    return len(late)
