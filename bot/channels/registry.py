"""The channels this service knows, each named once: adding a channel is one folder
(``bot/channels/<name>/``: ``__init__.py`` with its ``CHANNEL`` name, ``channel.py`` offering
``setup(app)``, ``settings.py`` with its settings section when it has one) plus one line here.

Configuration reads every section from this list (``bot.config``), ``CUNBOT_PUSH_CHANNEL``
accepts its names, and the app imports a channel's module only when the channel is enabled.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels import dingtalk, telegram, webchat, wecom
from bot.channels.dingtalk.settings import DingTalkSettings
from bot.channels.settings import ChannelSettings
from bot.channels.telegram.settings import TelegramSettings
from bot.channels.wecom.settings import WeComSettings


@dataclass(frozen=True)
class ChannelEntry:
    name: str  # Identity.channel, Incoming.channel, the Sender's name
    module: str  # has setup(app); imported only when the channel is enabled
    settings: type[ChannelSettings] | None = None  # its section; None: always on

    @property
    def env_prefix(self) -> str:
        if self.settings is None:
            return "CUNBOT_"
        return str(self.settings.model_config.get("env_prefix", "CUNBOT_"))


CHANNELS: tuple[ChannelEntry, ...] = (
    ChannelEntry(webchat.CHANNEL, "bot.channels.webchat.channel"),
    ChannelEntry(wecom.CHANNEL, "bot.channels.wecom.channel", WeComSettings),
    ChannelEntry(telegram.CHANNEL, "bot.channels.telegram.channel", TelegramSettings),
    ChannelEntry(dingtalk.CHANNEL, "bot.channels.dingtalk.channel", DingTalkSettings),
)
NAMES: tuple[str, ...] = tuple(entry.name for entry in CHANNELS)
