"""The inbound flow shared by every channel (see :mod:`bot.inbound.pipeline`)."""

from bot.inbound.pipeline import Inbound
from bot.inbound.unit import AfterHook

__all__ = ["AfterHook", "Inbound"]
