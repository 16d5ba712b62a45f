"""The DingTalk (钉钉) enterprise internal app robot channel (see
:mod:`bot.channels.dingtalk.channel`)."""

CHANNEL = "dingtalk"  # Identity.channel of a DingTalk member (their staff id / userId)
