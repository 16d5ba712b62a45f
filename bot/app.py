"""Builds the aiohttp Application. Nothing is created at import time: the engine, channels,
delivery worker and scheduler are made here and owned by the app's lifecycle (set up, yield,
dispose), so tests build as many independent apps as they like."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.config import Config
from bot.inbound import Inbound
from handlers.features import build_registry
from storage import db
from storage.clock import Clock, SystemClock
from storage.rules import Rules
from tasks.delivery import Delivery, Sender
from tasks.scheduler import Scheduler

log = logging.getLogger(__name__)

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
RULES = web.AppKey("rules", Rules)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker)
INBOUND = web.AppKey("inbound", Inbound)
SENDERS = web.AppKey("senders", dict[str, Sender])
SERVICES = web.AppKey("services", dict[str, Any])
DELIVERY = web.AppKey("delivery", Delivery)
BACKGROUND = web.AppKey("background", set[asyncio.Task[Any]])
SCHEDULER = web.AppKey("scheduler", Scheduler)

# Modules with ``setup(app)``: each adds its routes and its own cleanup context.
CHANNEL_MODULES: tuple[str, ...] = ("bot.channels.webchat",)
WEB_MODULES: tuple[str, ...] = ("bot.web.api",)

MAX_BODY = 12 * 1024 * 1024  # a 10 MB photo plus multipart overhead


def create_app(
    config: Config,
    *,
    clock: Clock | None = None,
    auto_upgrade: bool | None = None,
    run_workers: bool = True,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[CONFIG] = config
    app[CLOCK] = clock or SystemClock()
    app[RULES] = config.rules
    app[SENDERS] = {}
    app[SERVICES] = {}
    app[BACKGROUND] = set()
    upgrade = db.is_sqlite(config.core.database_url) if auto_upgrade is None else auto_upgrade

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = db.make_engine(config.core.database_url)
        if upgrade:
            await db.upgrade(engine)
        app[ENGINE] = engine
        app[SESSIONMAKER] = db.make_sessionmaker(engine)
        yield
        await engine.dispose()

    async def conversation(app: web.Application) -> AsyncIterator[None]:
        app[INBOUND] = Inbound(
            app[SESSIONMAKER], app[CLOCK], app[RULES], build_registry(), app[SERVICES]
        )
        yield

    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(conversation)
    for name in CHANNEL_MODULES + WEB_MODULES:
        importlib.import_module(name).setup(app)
    if run_workers:
        app.cleanup_ctx.append(workers)
    app.router.add_get("/healthz", healthz)
    return app


async def workers(app: web.Application) -> AsyncIterator[None]:
    """The delivery loop and the scheduler, started after every channel is up."""
    delivery = Delivery(app[SESSIONMAKER], app[CLOCK], app[RULES], app[SENDERS])
    app[DELIVERY] = delivery
    recovered = await app[INBOUND].recover()
    if recovered:
        log.info("recovered %d unhandled inbox messages", recovered)
    loop_task = asyncio.create_task(delivery.run_forever(), name="delivery")
    scheduler = Scheduler(app[SESSIONMAKER], app[CLOCK], app[RULES], on_enqueued=delivery.wake.set)
    app[SCHEDULER] = scheduler
    if app[CONFIG].core.run_scheduler:
        scheduler.start()
    yield
    scheduler.shutdown()
    loop_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop_task


def spawn(app: web.Application, coro: Any, name: str) -> asyncio.Task[Any]:
    """Run work in the background but keep a reference, and wait for it on shutdown."""
    task = asyncio.create_task(coro, name=name)
    app[BACKGROUND].add(task)
    task.add_done_callback(app[BACKGROUND].discard)
    return task


async def healthz(request: web.Request) -> web.Response:
    ok = await db.ping(request.app[ENGINE])
    status = 200 if ok else 503
    return web.json_response({"ok": ok, "database": "ok" if ok else "unreachable"}, status=status)
