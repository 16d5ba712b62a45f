"""WeCom's settings section (``CUNBOT_WECOM_*``; the names are a public interface)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.channels.settings import COMMON, ChannelSettings

AES_KEY_LENGTH = 43


class WeComSettings(ChannelSettings):
    model_config = SettingsConfigDict(env_prefix="CUNBOT_WECOM_", **COMMON)

    corp_id: str = ""
    agent_id: int = 0
    secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    aes_key: SecretStr = SecretStr("")
    api_base: str = "https://qyapi.weixin.qq.com"
    # Replies and pushes with buttons as template cards (按钮交互型); off: the numbered text
    # menu only (for a corp whose members still use clients without template cards).
    cards: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.corp_id)

    def problem(self) -> str | None:
        if self.enabled and len(self.aes_key.get_secret_value()) != AES_KEY_LENGTH:
            return "配置错误 CUNBOT_WECOM_AES_KEY: must be the 43-character EncodingAESKey"
        return None
