"""What every channel's settings section shares: the ``.env`` file, and ``enabled``.

A channel's section is a ``BaseSettings`` subclass with its own ``env_prefix``
(``CUNBOT_<NAME>_``) in ``bot/channels/<name>/settings.py``, a module that imports no
transport library, so configuration is read without importing the channel itself.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

COMMON = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class ChannelSettings(BaseSettings):
    @property
    def enabled(self) -> bool:
        """Whether the channel runs (e.g. its credentials are set)."""
        return True

    def problem(self) -> str | None:
        """A one-line configuration error beyond the field checks (``配置错误 NAME: why``)."""
        return None
