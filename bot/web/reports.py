"""The keys of the signed links in ledgers: the service's signing key, read once at start-up
(config.secret_key() may touch var/secret_key on disk), and the photo-link key derived from it
(bot.web.signed), which the ledger's photo cells and the media route use.

Ledgers themselves are made in the console (导出, bot.web.console.exports): prepared in the
background and downloaded by the signed-in person who asked for them. The chat's 导出 answers
with a one-time sign-in link that lands on that page (handlers.visit_progress).
"""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CONFIG
from bot.web import signed

SIGNING_KEY = web.AppKey("report_signing_key", bytes)


def setup(app: web.Application) -> None:
    app[SIGNING_KEY] = app[CONFIG].secret_key()
    app[signed.MEDIA_KEY] = signed.media_key(app[SIGNING_KEY])
