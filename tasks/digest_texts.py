"""What the morning and evening digests and the month-end visit nudge say, in one place."""

from __future__ import annotations

from core.statuses import OUTBOX_ZH, OutboxStatus

LIST_LIMIT = 5
BULLET = "  · {item}"
MORE = "  ……还有 {n} 项"

# --- morning (a village cadre) -----------------------------------------------------------
MORNING_HEAD = "☀️ 早报 {at:%m月%d日}"
ITEM = "{ref}｜{title}"
ITEM_DEADLINE = "{item}（截止 {deadline}）"
ITEM_TODAY = "{item}（{at:%H:%M} 前）"
DUE_TODAY = "今天到期"
DUE_SOON = "即将到期"
OVERDUE = "已逾期"
RETURNED = "被退回需重办"
NOTICES = "未读通知"
GROUP_HEAD = "{head} {n} 项："
SOON_HEAD = "{head}（{days} 天内）{n} 项："
DO_SUBMIT = "｜提交 {id}"
DO_FIX = "｜整改完成 {id}"
DO_READ = "｜任务 {id}"
VISITS_DUE = "本月还需走访 {short} 户（共 {due} 户）："
VISITS_DONE = "本月 {due} 户走访已全部完成 👍"
HOUSEHOLD_SHORT = "{name}（{visited}/{required}）"
NOTHING_DUE = "近几天没有到期或逾期的任务。"
FOOT_ALL_TASKS = "发送「任务」查看全部任务"
FOOT_VISITS = "走访后发送「走访 户主姓名」记录"
FOOT_OFF = "「设置 早报 关」可关闭早报。"

# --- evening (county staff) --------------------------------------------------------------
EVENING_HEAD = "🌙 晚报 {at:%m月%d日}"
TOWNS_HEAD = "今日走访 / 发现问题（按乡镇）："
TOWN_LINE = "{town}：走访 {visits} 户，问题 {problems} 个"
TOWNS_SHOWN = 10
NO_VISITS = "今日没有走访记录。"
OVERDUE_HEAD = "逾期未完成 {total} 项（按村）："
OVERDUE_LINE = "{name} {n} 项"
UNASSIGNED = "无人接收的任务 {n} 项（村里没有第一书记）。"
ACKS = "今日发出 {n} 项任务/通知，确认收到 {done}/{total}（{rate:.0%}）。"
LOWEST_HEAD = "本月走访覆盖率最低的村："
LOWEST_LINE = "{name} {share:.0%}（{due} 户）"
QUESTIONS = "待人工答复的政策问题 {n} 个。"
DEAD_HEAD = "消息未送达："
DEAD_LINE = "{name}（{status} {n} 条）"
EVENING_FOOT = "发送「进度」查看任务，「死信」查看未送达消息。"

# --- month-end nudge ---------------------------------------------------------------------
NUDGE_HEAD = "📅 本月还剩几天，还有 {n} 户没有走访够次数："
NUDGE_SHOWN = 10
NUDGE_FOOT = "走访后发送「走访 户主姓名」记录。"


def morning_foot(*, tasks_cut: bool, households: bool) -> str:
    """The closing hint: only the commands for what the digest listed above it."""
    hints = [FOOT_ALL_TASKS] if tasks_cut else []
    if households:
        hints.append(FOOT_VISITS)
    return "；".join([*hints, FOOT_OFF])


def bullets(items: list[str], limit: int = LIST_LIMIT) -> list[str]:
    """The first ``limit`` items as bullet lines, and how many more there are."""
    shown = [BULLET.format(item=i) for i in items[:limit]]
    if len(items) > limit:
        shown.append(MORE.format(n=len(items) - limit))
    return shown


def outbox_status(status: str) -> str:
    """The one wording of a dead or undeliverable row (the 死信 command uses it too)."""
    try:
        return OUTBOX_ZH.get(OutboxStatus(status), status)
    except ValueError:
        return status
