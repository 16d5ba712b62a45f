"""User-facing text of the conversation core, in one place for review (and translation)."""

UNBOUND = "您好，我是村务助手。请先绑定身份：发送「绑定 邀请码」（邀请码向县里工作人员索取）。"
UNBOUND_HELP = (
    "村务助手可以帮您记录走访、接收任务、查询政策。\n"
    "第一步：发送「绑定 邀请码」完成绑定，例如：绑定 K7M2Q9XA\n"
    "还没有邀请码？请联系县乡村振兴局的工作人员。"
)
BIND_HOW = "请在「绑定」后面写上邀请码，例如：绑定 K7M2Q9XA"
BIND_OK = "绑定成功！{name}（{role}，{region}）。发送「帮助」查看能做什么。"
BIND_FAILED = {
    "unknown": "邀请码不对，请检查后重新发送（字母不区分大小写）。",
    "used": "这个邀请码已经用过了。每个邀请码只能用一次，请向县里工作人员要一个新的。",
    "expired": "这个邀请码已过期，请向县里工作人员要一个新的。",
    "already_bound": "这个账号已经绑定过了，发送「帮助」查看能做什么。",
}
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
TOO_LONG = "消息太长了（最多 {limit} 字），请分几条发送。"
INTERNAL_ERROR = "系统出了点问题，这条消息没有保存，请稍后再发一次。"
