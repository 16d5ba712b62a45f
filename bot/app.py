"""Builds the aiohttp Application. Nothing is created at import time: the engine, channels,
delivery worker and scheduler are made here and owned by the app's lifecycle (set up, yield,
dispose), so tests build as many independent apps as they like."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

from aiohttp import web

from bot.appkeys import (
    BACKGROUND,
    CLOCK,
    CONFIG,
    DELIVERY,
    ENGINE,
    GATES,
    INBOUND,
    MEDIA,
    RULES,
    SCHEDULER,
    SENDERS,
    SERVICES,
    SESSIONMAKER,
)
from bot.channels.base import wait_for
from bot.channels.registry import CHANNELS
from bot.config import Config
from bot.inbound import Inbound
from bot.web import headers
from core.clock import Clock, SystemClock
from handlers.context import Services
from handlers.features import build_registry
from services import attachment_links
from services.faq_index import FaqService
from storage import db, outbox_listen
from tasks.delivery import ChannelGates, Delivery
from tasks.scheduler import Scheduler

log = logging.getLogger(__name__)

# Modules with ``setup(app)``: each adds its routes and its own cleanup context. Channels come
# from bot.channels.registry, and only the enabled ones are imported.
WEB_MODULES: tuple[str, ...] = (
    "bot.web.reports",
    "bot.web.api",
    "bot.web.console",
    "bot.web.attachments",
)

MAX_BODY = 12 * 1024 * 1024  # a 10 MB photo plus multipart overhead
SHUTDOWN_WAIT = 15.0  # seconds in-flight messages get to finish on shutdown
FAQ_STOP_WAIT = 5.0  # seconds a FAQ index build under way gets to finish on shutdown


def create_app(
    config: Config,
    *,
    clock: Clock | None = None,
    auto_upgrade: bool | None = None,
    run_workers: bool = True,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    headers.install(app)
    app[CONFIG] = config
    app[CLOCK] = clock or SystemClock()
    app[RULES] = replace(config.rules, file_link_key=attachment_links.link_key(config.secret_key()))
    app[SENDERS] = {}
    app[SERVICES] = Services()
    app[BACKGROUND] = set()
    app[GATES] = ChannelGates()
    app[MEDIA] = config.media_store()
    upgrade = db.is_sqlite(config.core.database_url) if auto_upgrade is None else auto_upgrade

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = db.make_engine(
            config.core.database_url,
            pool_size=config.core.db_pool_size,
            pooler=config.core.behind_pooler,
        )
        if upgrade:
            await db.upgrade(engine)
        app[ENGINE] = engine
        app[SESSIONMAKER] = db.make_sessionmaker(engine)
        yield
        await engine.dispose()

    async def conversation(app: web.Application) -> AsyncIterator[None]:
        app[INBOUND] = Inbound(
            app[SESSIONMAKER],
            app[CLOCK],
            app[RULES],
            build_registry(),
            app[SERVICES],
            ready=asyncio.Event(),  # set by faq_index once the index is built
        )
        yield

    async def media(app: web.Application) -> AsyncIterator[None]:
        async with app[MEDIA]:
            yield

    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(media)
    app.cleanup_ctx.append(conversation)
    app.cleanup_ctx.append(faq_index)
    app.cleanup_ctx.append(in_flight)
    channels = [entry.module for entry in CHANNELS if config.enabled(entry.name)]
    for name in channels + list(WEB_MODULES):
        importlib.import_module(name).setup(app)
    if run_workers:
        app.cleanup_ctx.append(workers)
    app.router.add_get("/healthz", healthz)
    return app


async def faq_index(app: web.Application) -> AsyncIterator[None]:
    """The policy FAQ index, loaded in the background so the port opens at once (jieba, the
    sentence model and the build run in threads, a few seconds; phrasings never embedded
    before cost ~15 ms each, once, then their vectors are stored); messages wait for it
    (``Inbound.ready``). If
    it cannot be built (the database is away at start-up), messages go on without it (the FAQ
    answers "not ready") and the build is tried again, backing off up to a minute."""
    ready = app[INBOUND].ready

    async def load() -> None:
        delay = 1.0
        while True:
            try:
                app[SERVICES].faq = await FaqService.start(app[SESSIONMAKER], app[CLOCK].now())
                return
            except Exception:
                log.exception("faq index could not be built; trying again in %.0f s", delay)
            finally:
                ready.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    task = asyncio.create_task(load(), name="faq-index")
    yield
    if not task.done():
        # A build under way gets a moment to finish its database work before it is cancelled.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), FAQ_STOP_WAIT)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def workers(app: web.Application) -> AsyncIterator[None]:
    """The delivery loop, the inbox sweep and the scheduler, started after every channel is
    up. They run as tasks, so the port opens without waiting for them: the sweep (messages
    received but never handled, e.g. before a crash) and delivery (replies queued before it)
    begin as the server starts listening."""
    core = app[CONFIG].core
    lease = timedelta(seconds=core.delivery_lease_seconds)
    direct = core.delivery_listen_url.get_secret_value()
    listen = None
    if direct != "none":
        listen = outbox_listen.listen_url(
            core.database_url, pooler=core.behind_pooler, direct_url=direct
        )
    delivery = Delivery(
        app[SESSIONMAKER],
        app[CLOCK],
        app[RULES],
        app[SENDERS],
        gates=app[GATES],
        lease=lease,
        listen_url=listen,
    )
    app[DELIVERY] = delivery
    tasks = [
        asyncio.create_task(delivery.run_forever(), name="delivery"),
        asyncio.create_task(app[INBOUND].sweep_forever(), name="inbox-sweep"),
    ]
    scheduler = Scheduler(app[SESSIONMAKER], app[CLOCK], app[RULES], on_enqueued=delivery.wake.set)
    app[SCHEDULER] = scheduler
    if app[CONFIG].core.run_scheduler:
        scheduler.start()
    yield
    scheduler.shutdown()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def in_flight(app: web.Application) -> AsyncIterator[None]:
    """On shutdown, let work started with ``bot.channels.base.spawn`` finish before the database goes away.
    Registered before the channels, so it runs after they have stopped taking messages."""
    yield
    background = app[BACKGROUND]
    await wait_for(background, SHUTDOWN_WAIT, cancel=True)


async def healthz(request: web.Request) -> web.Response:
    ok = await db.ping(request.app[ENGINE])
    status = 200 if ok else 503
    return web.json_response({"ok": ok, "database": "ok" if ok else "unreachable"}, status=status)
