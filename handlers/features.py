"""The feature modules the bot runs, in order. Each has ``register(registry)``."""

from __future__ import annotations

import importlib

from handlers.registry import Registry

FEATURES = (
    "handlers.help",
    "handlers.visits",
    "handlers.visit_photo_edit",
    "handlers.visit_progress",
    "handlers.rectify",
    "handlers.rectify_review",
    "handlers.tasks",
    "handlers.broadcast",
    "handlers.settings",
    "handlers.faq",
    "handlers.console",
    "handlers.intent",
)


def build_registry(features: tuple[str, ...] = FEATURES) -> Registry:
    registry = Registry()
    for name in features:
        importlib.import_module(name).register(registry)
    return registry
