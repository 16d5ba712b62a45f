"""The built-in web chat (see :mod:`bot.channels.webchat.channel`)."""

CHANNEL = "webchat"  # Identity.channel of a browser; the channel owns its name
