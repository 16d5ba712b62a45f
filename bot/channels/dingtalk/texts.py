"""What the DingTalk channel itself says (Chinese); shared channel sentences are in
``bot.channels.texts``."""

GROUP_CHAT = "请在钉钉里单独给我发消息（单聊），群聊中的消息不处理。"
PHOTO_NOT_SHOWN = "（照片暂时无法在钉钉中显示，请在县乡工作台查看。）"
