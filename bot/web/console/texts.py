"""Every Chinese sentence and label of the web console, in one place."""

from __future__ import annotations

from core.rules import HOUSEHOLD_CATEGORIES as _HOUSEHOLD_CATEGORIES
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
    ("exports", "导出"),
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
FAQ_IGNORED = "已忽略{ref}，它不再出现在待答复的问题里。"
FAQ_MERGED = "已用问答 {faq_id} 答复{ref}，并已发送给提问人。"
FAQ_MERGED_ALIAS = "这个问题已加入该问答的例句，以后同类问题会自动回答。"
FAQ_MERGED_SHARED = "这是上级共享的问答，工作台里不能给它加例句。"
FAQ_MERGE_PICK = "选一条已有问答，用它的答案答复这个问题："
FAQ_MERGE_NONE = "没有找到问答，换个词再搜。"
# 问答条目: browsing and editing entries.
FAQ_ENTRY_DONE = {
    "added": "已添加问答 {faq_id}，聊天里马上就会用它回答本县的提问。",
    "edited": "已保存问答 {faq_id} 的修改，聊天里马上生效。",
    "retired": "已停用问答 {faq_id}，聊天里不再用它回答。可以随时恢复。",
    "restored": "已恢复问答 {faq_id}，聊天里又会用它回答。",
}
FAQ_ENTRIES_EMPTY = "没有符合条件的问答。"
FAQ_SCOPE_ZH = {"all": "本县和共享", "own": "本县的", "shared": "上级共享的"}
FAQ_STATE_ZH = {"active": "在用", "retired": "已停用"}
FAQ_SHARED = "上级共享（只读）"
FAQ_OWN = "本县"
FAQ_RETIRE_CONFIRM = "停用后，聊天里不再用问答 {faq_id} 回答（条目保留，可以恢复）。确定停用吗？"
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

# 户: add, edit, retire and restore a household.
NEW_HOUSEHOLD = "添加户"
RETIRE_ASK = "确认注销「{name}」（户编号 {code}）？注销后这户不再计入走访任务和覆盖率，搜索时默认不显示；走访记录和问题都会保留，以后可以恢复。"
HOUSEHOLD_DONE = {
    "created": "已添加。",
    "edited": "已保存修改，见下方的变更记录。",
    "unchanged": "没有改动。",
    "retired": "已注销：这户不再计入走访任务和覆盖率，可以随时恢复。",
    "restored": "已恢复：这户重新计入走访任务和覆盖率。",
}

# 导出 and 导入户籍表: background jobs with a progress bar.
JOB_STATUS_ZH = {"queued": "排队中", "running": "处理中", "done": "已完成", "failed": "失败"}
JOB_KIND_ZH = {"export": "导出台账", "households_import": "导入户籍表"}
EXPORT_SHEETS = "走访台账、问题清单、覆盖率、任务完成情况汇总和任务完成情况表（Excel，一个文件）"
EXPORT_WAIT = "文件正在后台生成，这个页面会自动刷新；也可以先离开，稍后在「导出」页下载。"
IMPORT_WAIT = "正在后台导入，这个页面会自动刷新。导入是全部成功或全部不写入，不会只导入一半。"
IMPORT_DONE = "导入完成：共 {rows} 户，新增 {created}，更新 {updated}，未变 {unchanged}。"
IMPORT_HINT = (
    "表头：户编号、户主姓名、所属乡镇、所属村、户类型、家庭人口（必填），帮扶责任人、联系电话"
    "（可填）。只能导入本辖区的村；任何一行有错，整个文件都不导入。"
)

# 走访: the visit list, the photos of the visits and the map.
VISIT_TABS = (("", "走访记录"), ("/photos", "照片"), ("/map", "地图"))
VISITS_EMPTY = "这个月没有符合条件的走访记录。"
PHOTOS_EMPTY = "这个月的走访没有照片。"
MAP_NOTE = "地图显示本月最近 {shown} 次带位置的走访（共 {total} 次，最多显示 {limit} 次）。每个村标在其走访位置的中位点；离村中心超过 {far} 公里的走访标红。"
MAP_EMPTY = "这个月没有带位置的走访。"
MAP_NO_SCRIPT = "地图需要浏览器运行脚本；下表列出离村中心较远的走访。"
MAP_FAR_NONE = "没有离村中心较远的走访。"
EVIDENCE_NOTE = "走访记录是工作的凭据，不是考勤：照片和位置都是自愿附上的，这里不按次数排名。"

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
    "也不再收到任务和提醒。以后可以在这里重新启用（需要用新的邀请码重新绑定）。"
)
REACTIVATE_ASK = (
    "确认重新启用{name}（{role}，{place}）？将生成一个新的邀请码，{name}用它绑定后即可继续使用；"
    "停用前绑定的聊天账号不会恢复。"
)
CONFIRM_HEADINGS = {
    "rebind": ("确认换手机?", "确认换手机"),
    "deactivate": ("确认停用?", "确认停用"),
    "reactivate": ("确认重新启用?", "确认重新启用"),
}
PEOPLE_DONE = {
    "invited": "邀请码已生成。",
    "rebind": "已解绑原来的账号，请用新的邀请码在新手机上绑定。",
    "revoked": "邀请码已撤销，不能再用来绑定。",
    "moved": "已调整所在村。",
    "deactivated": "已停用。",
    "reactivated": "已重新启用，请把新的邀请码交给本人，用它重新绑定。",
}

# 图表: visits per day (走访) and a task's progress over time (任务).
PER_DAY_HEAD = "每日走访次数"
PER_DAY_LABEL = "{month} 每日走访次数，共 {total} 次，最多的一天 {peak} 次"
PER_DAY_TITLE = "{m}月{d}日：{n} 次走访"
PER_DAY_TODAY = "今天"
PER_DAY_NOTE = (
    "按本辖区（所选地区）全部有效走访计数，不含已撤回的；只看每天走访了多少次，不按人或村排名。"
)
PROGRESS_HEAD = "完成进度"
PROGRESS_ZH = {"acked": "收到", "submitted": "已提交", "approved": "已通过"}
PROGRESS_LABEL = "完成进度：共 {total} 个村，收到 {acked}，已提交 {submitted}，已通过 {approved}"
PROGRESS_DEADLINE = "截止"
PROGRESS_NOW = "现在"
PROGRESS_NOTE = "按各村现在的状态累计：收到含已提交、已通过和退回的村，已提交含已通过的村；结尾的数字与上面各状态的村数一致。"

# 户: the registry's category filter offers the registry's categories.
HOUSEHOLD_CATEGORIES = _HOUSEHOLD_CATEGORIES
