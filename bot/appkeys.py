"""The typed keys of the aiohttp Application's shared state.

They live apart from :mod:`bot.app` so that channel and web modules read the app's state
without importing the module that imports them (``bot.app`` loads every channel).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.config import Config
from bot.inbound import Inbound
from core.channel import Sender
from core.clock import Clock
from core.rules import Rules
from handlers.context import Services
from services.media_store import MediaStore
from storage.session import AsyncEngine, async_sessionmaker
from tasks.delivery import ChannelGates, Delivery
from tasks.scheduler import Scheduler

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
RULES = web.AppKey("rules", Rules)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker)
INBOUND = web.AppKey("inbound", Inbound)
SENDERS = web.AppKey("senders", dict[str, Sender])
SERVICES = web.AppKey("services", Services)
DELIVERY = web.AppKey("delivery", Delivery)
# Rate-limit state of the process's channels, shared by the delivery worker and direct replies.
GATES = web.AppKey("gates", ChannelGates)
BACKGROUND = web.AppKey("background", set[asyncio.Task[Any]])
SCHEDULER = web.AppKey("scheduler", Scheduler)
# Where photos, voice notes, thumbnails and task attachments are stored (opened by the app).
MEDIA = web.AppKey("media", MediaStore)
