"""The WeCom (企业微信) self-built app channel (see :mod:`bot.channels.wecom.channel`)."""

CHANNEL = "wecom"  # Identity.channel of a WeCom member; the channel owns its name
