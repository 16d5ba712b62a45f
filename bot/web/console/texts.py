"""Every Chinese sentence and label of the web console, in one place."""

from __future__ import annotations

from core.statuses import AssignmentStatus, TaskKind, TaskStatus
from storage.readmodels.task_board import OVERDUE

TITLE = "县乡工作台"
NAV = (("overview", "概览"), ("tasks", "任务"), ("households", "户"))
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
