"""Telegram's settings section (``CUNBOT_TELEGRAM_*``; the names are a public interface).
Imports no aiogram: the channel (and its ~10 s import) loads only when a token is set."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.channels.settings import COMMON, ChannelSettings


class TelegramSettings(ChannelSettings):
    model_config = SettingsConfigDict(env_prefix="CUNBOT_TELEGRAM_", **COMMON)

    token: SecretStr = SecretStr("")
    api_base: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: SecretStr = SecretStr("")

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value())
