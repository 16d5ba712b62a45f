"""The Telegram channel (see :mod:`bot.channels.telegram.channel`). Nothing is imported
here, so reading its settings does not import aiogram."""

CHANNEL = "telegram"  # Identity.channel of a Telegram chat; the channel owns its name
