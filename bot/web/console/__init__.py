"""The county and township web console (县乡工作台): server-rendered pages in Chinese.

One module per page, each with ``setup(app)`` adding its routes; ``render.page`` is the wrapper
every route goes through (session, CSRF, refusals); the layout is templates/console/base.html;
the stylesheet ships here (static/). Pages call services (services.console, console_tasks),
which check scope with services.scope; no SQL and no rule lives here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from aiohttp import web

from bot.web.console.render import ENV, make_env

PAGES = (
    "bot.web.console.auth",
    "bot.web.console.overview",
    "bot.web.console.task_forms",  # before tasks: /console/tasks/new is not a number
    "bot.web.console.review",
    "bot.web.console.tasks",
    "bot.web.console.household_forms",  # before households: /console/households/new
    "bot.web.console.imports",  # before households: /console/households/import is no id
    "bot.web.console.households",
    "bot.web.console.visits",
    "bot.web.console.problems",
    "bot.web.console.faq",
    "bot.web.console.jobs",
    "bot.web.console.exports",
    "bot.web.console.faq_merge",
    "bot.web.console.faq_entries",
    "bot.web.console.people",
)
STATIC = Path(__file__).resolve().parent / "static"


def setup(app: web.Application) -> None:
    app[ENV] = make_env(app)
    app.router.add_static("/console/static", STATIC, append_version=False)
    for name in PAGES:
        importlib.import_module(name).setup(app)
