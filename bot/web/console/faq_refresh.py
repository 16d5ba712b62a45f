"""After a console change to the FAQ is committed, rebuild this process's index in the
background, so the next question in chat does not wait for the rebuild.

Other processes need nothing from here: their index checks the FAQ's write counter
(storage.faq.version) before answering and rebuilds when it moved (services.faq_index).
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.appkeys import SERVICES, SESSIONMAKER
from bot.channels.base import spawn

log = logging.getLogger(__name__)


def refresh(app: web.Application) -> None:
    """Start the rebuild; the app waits for it on shutdown (bot.channels.base.spawn)."""
    service = app[SERVICES].faq
    if service is None:  # still loading: the first build will see the change
        return

    async def rebuild() -> None:
        try:
            async with app[SESSIONMAKER]() as session, session.begin():
                await service.current(session)
        except Exception:
            # The next question rebuilds it anyway (the fingerprint still differs).
            log.exception("faq index refresh failed")

    spawn(app, rebuild(), "faq-refresh")
