"""Every Chinese sentence and label of the web console, in one place."""

from __future__ import annotations

from core.statuses import AssignmentStatus, TaskKind, TaskStatus
from storage.readmodels.task_board import OVERDUE

TITLE = "县乡工作台"
NAV = (
    ("overview", "概览"),
    ("tasks", "任务"),
    ("households", "户"),
    ("problems", "问题"),
    ("faq", "问答"),
    ("people", "人员"),
)
LOGOUT = "退出"

SIGN_IN_NEEDED = "请先登录：在聊天中发送「后台」，打开收到的链接即可进入工作台。"
SIGNED_OUT = "您已退出工作台。需要时在聊天中发送「后台」获取新的登录链接。"
LOGIN_CONFIRM = "{name}（{role}，{region}），点击下面的按钮进入工作台。"
LOGIN_BUTTON = "进入工作台"
LOGIN_REFUSED_TITLE = "无法登录"
FORM_EXPIRED = "页面已过期或来源不明（安全校验未通过），请刷新页面后重试。"
BAD_REQUEST = "请求的内容不对，请检查后重试。"
NOT_FOUND = "找不到这个页面。"

TASK_STATUS_ZH = {
    TaskStatus.ACTIVE: "进行中",
    TaskStatus.CANCELLED: "已撤销",
    TaskStatus.CLOSED: "已结束",
}
PROBLEM_ZH = {"open": "整改中", "closed": "已整改", "void": "已作废"}
VISIT_REVOKED = "已撤销"
# 问答: the unanswered-question queue.
FAQ_EMPTY = "没有待答复的问题。"
FAQ_ANSWER_NEEDED = "请先填写答复内容。"
FAQ_ANSWERED = "已答复{ref}，并已发送给提问人。可以把这条答复存为问答，以后同类问题自动回答："
FAQ_SAVED = "已把{ref}存为问答 {faq_id}，以后同类问题会自动用它回答。"
FLAG_ZH = {"outside_county": "位置不在本县", "outside_china": "位置异常"}
KIND_ZH = {TaskKind.TASK: "任务", TaskKind.NOTICE: "通知", TaskKind.RECTIFY: "整改"}
# A village's state on one task, in the order the village x status view shows them.
STATE_ZH = {
    AssignmentStatus.PENDING: "未读",
    AssignmentStatus.ACKED: "收到",
    AssignmentStatus.SUBMITTED: "已提交",
    AssignmentStatus.APPROVED: "已通过",
    AssignmentStatus.RETURNED: "退回",
    OVERDUE: "逾期",
    AssignmentStatus.CANCELLED: "已撤销",
}

# 任务: the forms (send, review, withdraw).
NEW_TASK = "发任务 / 通知"
KIND_CHOICES = (
    (TaskKind.TASK, "任务（需要村里办理、提交）"),
    (TaskKind.NOTICE, "通知（只需阅知）"),
)
NO_PLACE_CHOSEN = "请至少勾选一个乡镇或村。"
BAD_DEADLINE = "截止时间的格式不对，请用日期时间选择器重新选择。"
PAST_DEADLINE = "截止时间已经过了，请选择将来的时间。"
BAD_KIND = "请选择是任务还是通知。"
PUSH_NOW = "确认后立即推送给各村书记。"
PUSH_LATER = "现在是休息时间，确认后将于 {at} 起推送给各村书记。"
NO_SECRETARY = "（还没有绑定的书记，暂时收不到）"
REASON_NEEDED = "退回时请填写退回原因，村里才知道要改什么。"
REASON_TOO_LONG = "退回原因太长了（最多 {n} 个字）。"
CANCEL_ASK = "确认撤销{kind}「{title}」（{kind} {number}）？撤销后各村不用再办理，未发出的推送和提醒都会停止，这一步不能恢复。"
NO_PHOTOS = "没有照片。"
NO_TEXT = "没有文字说明。"
# What the page says after a form went through (?done=...).
DONE = {
    "sent": "已发送：各村书记会收到推送（休息时间内发的，休息时间结束后推送）。",
    "cancelled": "已撤销：各村无需再办理，未发出的推送和提醒已停止，已收到的村会收到撤销通知。",
    "approved": "已通过，已告知该村。",
    "returned": "已退回，已把原因和新的截止时间告知该村。",
}

# 问题清单: the 复核 forms.
FIX_REASON_NEEDED = "复核退回时请填写退回原因，村里才知道还要改什么。"
PROBLEM_DONE = {
    "approved": "复核通过：问题已整改清零，已告知该村。",
    "returned": "已退回：已把原因和新的整改期限告知该村。",
}

# 人员: the people page, invites, 换手机, 调村, 停用.
PEOPLE_TITLE = "人员"
INVITE_TITLE = "发邀请码"
NEVER_BOUND = "从未绑定"
LOGGED_OUT = "已解绑，待重新绑定"
ACTIVE_ZH = {True: "在用", False: "已停用"}
CHANNEL_ZH = {
    "webchat": "网页聊天",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "telegram": "Telegram",
}
INVITE_STATE_ZH = {"pending": "待使用", "used": "已使用", "expired": "已过期或已撤销"}
INVITE_HOW = (
    "请对方用手机扫描二维码（微信、企业微信或相机扫一扫均可），在打开的聊天页点「发送」即完成绑定；"
    "也可以在企业微信、钉钉或网页聊天中发送「绑定 {code}」。每个邀请码只能用一次。"
)
REBIND_ASK = (
    "确认给{name}换手机？{name}现在绑定的所有聊天账号和已登录的工作台都会退出，"
    "未使用的邀请码作废，并生成一个新的邀请码，用新手机绑定后即可继续使用。"
)
DEACTIVATE_ASK = (
    "确认停用{name}（{role}，{place}）？停用后 TA 在聊天和工作台中都不能再使用本系统，"
    "也不再收到任务和提醒。这一步在工作台中不能恢复。"
)
PEOPLE_DONE = {
    "invited": "邀请码已生成。",
    "rebind": "已解绑原来的账号，请用新的邀请码在新手机上绑定。",
    "revoked": "邀请码已撤销，不能再用来绑定。",
    "moved": "已调整所在村。",
    "deactivated": "已停用。",
}
