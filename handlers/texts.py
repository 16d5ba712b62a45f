"""User-facing text of the conversation core, in one place for review (and translation)."""

UNBOUND = "您好，我是村务助手。请先绑定身份：发送「绑定 邀请码」（邀请码向县里工作人员索取）。"
UNBOUND_HELP = (
    "村务助手可以帮您记录走访、接收任务、查询政策。\n"
    "第一步：发送「绑定 邀请码」完成绑定，例如：绑定 K7M2Q9XA\n"
    "还没有邀请码？请联系县乡村振兴局的工作人员。"
)
BIND_HOW = "请在「绑定」后面写上邀请码，例如：绑定 K7M2Q9XA"
BIND_OK = "绑定成功！{name}（{role}，{region}）。发送「帮助」查看能做什么。"
ALREADY_BOUND = "您已绑定为 {name}（{role}，{region}），无需再次绑定。"
HELP_HEAD = "{name}（{role}，{region}），您可以发送："
HELP_TAIL = "随时发送「取消」可退出当前操作；直接提问可查询政策。"
CANCELLED = "已取消，没有保存任何内容。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
STALE_BUTTON = "这个按钮已失效，请重新操作。发送「帮助」查看能做什么。"
NOT_UNDERSTOOD = "没有看懂这条消息。发送「帮助」查看能做什么。"
PHOTO_UNEXPECTED = "收到照片。请先说明这张照片是哪项工作的（例如发送「走访 户主姓名」）。"
LOCATION_UNEXPECTED = "收到位置。位置信息会在上报走访时一起记录。"
ROLE_REFUSED = "您的身份（{role}）不能使用「{word}」。发送「帮助」查看您能做什么。"
INTERNAL_ERROR = "系统出了点问题，这条消息没有保存，请稍后再发一次。"
HELP_WHOAMI = "我的信息 — 查看绑定的身份和辖区"
WHOAMI_NAME = "姓名：{name}"
WHOAMI_ROLE = "身份：{role}"
WHOAMI_REGION = "辖区：{path}"
WHOAMI_PHONE = "电话：{phone}"
LOGOUT_CONFIRM = (
    "确定退出吗？退出后这个浏览器（或聊天账号）不再是您的身份，"
    "页面上无法撤销；再次使用需要向县里工作人员要新的邀请码。"
)
LOGOUT_YES = "确定退出"
LOGOUT_NO = "不退出"
LOGOUT_DONE = "已退出登录。这个浏览器上的身份已解除，聊天记录不再显示。"
LOGOUT_KEPT = "好的，没有退出。"
LOGOUT_NOT_BOUND = "当前没有绑定身份，无需退出。"

# A command word sent inside a flow ends it; what happened to the unfinished work, per flow.
FLOW_DROPPED = {
    "visit": "（未完成的走访记录已丢弃。）",
    "broadcast": "（未发出的任务草稿已丢弃。）",
    "submit": "（未提交的任务材料已丢弃。）",
    "rectify": "（整改没有完成：还没收到照片，问题仍未关闭。）",
    "review": "（退回没有完成：还没选村。）",
    "rfix_return": "（复核退回没有发出：这项整改仍待复核。）",
    "intent": "（刚才的问题不用再回答了。）",
}
FLOW_DROPPED_ANY = "（未完成的操作已丢弃。）"
