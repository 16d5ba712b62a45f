"""DingTalk's settings section (``CUNBOT_DINGTALK_*``; the names are a public interface)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.channels.settings import COMMON, ChannelSettings


class DingTalkSettings(ChannelSettings):
    model_config = SettingsConfigDict(env_prefix="CUNBOT_DINGTALK_", **COMMON)

    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    robot_code: str = ""  # empty: the app key (an internal app's robot code usually equals it)
    api_base: str = "https://api.dingtalk.com"
    # Replies and pushes with buttons as ActionCards; off: the numbered text menu only.
    cards: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.app_key)

    @property
    def robot(self) -> str:
        return self.robot_code or self.app_key

    def problem(self) -> str | None:
        if self.enabled and not self.app_secret.get_secret_value():
            return (
                "配置错误 CUNBOT_DINGTALK_APP_SECRET: required when CUNBOT_DINGTALK_APP_KEY is set"
            )
        return None
