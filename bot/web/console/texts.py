"""Every Chinese sentence and label of the web console, in one place."""

from __future__ import annotations

from core.statuses import AssignmentStatus, TaskKind, TaskStatus
from storage.readmodels.task_board import OVERDUE

TITLE = "县乡工作台"
NAV = (
    ("overview", "概览"),
    ("tasks", "任务"),
    ("households", "户"),
    ("visits", "走访"),
    ("problems", "问题"),
    ("faq", "问答"),
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

# 走访: the visit list, the photos of the visits and the map.
VISIT_TABS = (("", "走访记录"), ("/photos", "照片"), ("/map", "地图"))
VISITS_EMPTY = "这个月没有符合条件的走访记录。"
PHOTOS_EMPTY = "这个月的走访没有照片。"
MAP_NOTE = "地图显示本月最近 {shown} 次带位置的走访（共 {total} 次，最多显示 {limit} 次）。每个村标在其走访位置的中位点；离村中心超过 {far} 公里的走访标红。"
MAP_EMPTY = "这个月没有带位置的走访。"
MAP_NO_SCRIPT = "地图需要浏览器运行脚本；下表列出离村中心较远的走访。"
MAP_FAR_NONE = "没有离村中心较远的走访。"
EVIDENCE_NOTE = "走访记录是工作的凭据，不是考勤：照片和位置都是自愿附上的，这里不按次数排名。"
