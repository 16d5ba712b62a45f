"""What the WeCom channel itself says (Chinese); shared channel sentences are in
``bot.channels.texts``."""

# A card needs a title: a reply that is only buttons gets this one.
CARD_TITLE = "请选择"
# After a press the card's buttons give way to one greyed-out button with this text.
CARD_PRESSED = "已选择「{label}」"
CARD_PRESSED_BY_LABEL = {"收到": "已确认收到", "已完成": "已标记完成"}
CARD_PRESSED_UNKNOWN = "已处理"
