"""The registry's single slots (photo, location, free text) are claimed once, like commands."""

from __future__ import annotations

import pytest

from handlers.features import build_registry
from handlers.registry import Registry


async def _nothing(_ctx):
    return []


def test_a_second_photo_location_or_fallback_handler_is_refused():
    registry = Registry()
    registry.photo_handler(_nothing)
    registry.on_location = _nothing  # the attribute form is checked the same way
    registry.fallback_handler(_nothing)
    with pytest.raises(ValueError, match="photo"):
        registry.on_photo = _nothing
    with pytest.raises(ValueError, match="location"):
        registry.location_handler(_nothing)
    with pytest.raises(ValueError, match="fallback"):
        registry.fallback = _nothing
    assert registry.on_photo is _nothing and registry.fallback is _nothing


def test_the_shipped_features_claim_each_slot_once():
    registry = build_registry()
    assert registry.on_photo and registry.on_location and registry.fallback
