"""User-facing text of household visits, problems and ledgers, in one place for review.

The refusals the use cases raise are services/visit_texts.py; the few the chat also says
itself are imported from there, so each sentence is written once.
"""

from services.visit_texts import NO_VILLAGE as NO_VILLAGE
from services.visit_texts import NOTHING_TO_REVOKE as NOTHING_TO_REVOKE

HELP_VISIT = "走访 户主姓名 情况 — 记录入户走访，如：走访 王三女 饮水正常 医保已交 屋顶漏雨"
HELP_PROGRESS = "本月走访 — 查看本月走访进度"
HELP_DUE = "未走访 — 列出本月还需走访的户"
HELP_PROBLEMS = "问题 — 查看待整改的问题"
HELP_RECTIFY = "整改完成 编号 — 整改完成后发一张照片，交乡镇或县里复核"
HELP_REVOKE = "撤销 — 撤销24小时内的最近一次走访"
HELP_AMEND = "修改 — 修改最近一次走访，如：修改 住房正常"
HELP_EXPORT = (
    "导出 [2026-11] — 在工作台生成并下载本月走访台账、问题清单、覆盖率和任务完成情况表（Excel）"
)

ASK_HOUSEHOLD = "请发送要走访的户主姓名或户编号。本月还没走访的户："
ASK_HOUSEHOLD_EMPTY = "请发送要走访的户主姓名或户编号。"
PICK_ONE = "找到 {n} 户同名或相近的，请选择："
NOT_FOUND = "本村没有找到「{q}」。您是不是要找下面这几户？也可以重新发送姓名或户编号。"
NOT_FOUND_NONE = "本村没有找到「{q}」，请检查姓名或户编号后重新发送。"

CHECK_ASK = "第 {i}/{n} 项：{name}，情况如何？"
PROBLEM_ASK = "请简单说明{name}存在的问题（例如：屋顶漏雨）。"
NOTE_ASK = "还有其他情况要记下吗？直接发送文字（最多 {limit} 字），没有就点「跳过」。"
PHOTOS_ASK = "请发送走访照片（可多张），发完点「下一步」；没有照片也点「下一步」。"
PHOTO_GOT = "已收到照片（本次共 {n} 张）。继续发送，或点「下一步」。"
PHOTO_SEEN = "这张照片之前已经收到过，不再重复保存。"
LOCATION_ASK = "请发送当前位置（微信/Telegram 里选「位置」），没有就点「跳过」。"
LOCATION_GOT = "已记下位置。"
LOCATION_FAR = "已记下位置，但它不在本县范围内，已标记待核实。"
PRESS_BUTTON = "请点上面的按钮选择，或发送「取消」退出。"
STALE_BUTTON = "这个按钮已失效，请重新发送「走访」。"

SUMMARY_HEAD = "请核对走访记录：\n户主：{name}（{code}，{category}）"
SUMMARY_NOTE = "备注：{note}"
SUMMARY_PHOTOS = "照片：{n} 张"
SUMMARY_LOCATION = "位置：{lat:.5f}, {lon:.5f}{flag}"
SUMMARY_UNSURE = "{name}：待确认（{text}）"
# The card asks about a clause it could not read with confidence, one check at a time.
UNSURE_ASK = "「{text}」——{short}：有问题吗？"
CHECK_SHORT = {
    "water": "饮水",
    "education": "教育",
    "medical": "医疗",
    "housing": "住房",
    "income": "收入",
    "employment": "就业",
    "industry": "产业",
    "credit": "信贷",
    "security": "保障",
}
BTN_UNSURE_PROBLEM = "有问题"
BTN_UNSURE_OK = "正常"
BTN_UNSURE_SKIP = "不记"
SUMMARY_TAIL = "信息无误请点「确认」保存；要改请点「修改」；发送「取消」不保存。"
FLAG_ZH = {"outside_county": "（不在本县范围，待核实）", "outside_china": "（位置异常，待核实）"}

DUPLICATE_ASK = "{name} 在 {minutes} 分钟内已有一条走访记录（{at}）。这是同一次走访吗？"
SAVED = "已保存 {name} 的走访（记录号 {id}）。本月已走访 {visited} 次，要求 {required} 次。"
SAVED_PHOTOS = "附照片 {n} 张。"
SAVED_PROBLEMS = "发现 {n} 个问题，已列入问题清单并生成整改事项（{days} 天内完成）：{ids}。整改后发送「整改完成 编号」并附照片。"
MERGED = "已合并到 {name} 刚才的走访记录（记录号 {id}）。"
AMENDED = "已修改走访记录（记录号 {id}），修改已留痕。"

PHOTO_ATTACHED = "照片已附到 {name} 的走访记录（记录号 {id}）。"
PHOTO_WHICH = "收到照片，已保存。这是哪一户的走访照片？（如是整改照片，请发送「整改完成 编号」）"
PHOTO_WHICH_NONE = "收到照片，已保存。请发送「走访 户主姓名」，10 分钟内开始的走访会把照片放在卡片上，确认时一起保存。"
PHOTO_UNREADABLE = "照片无法读取，请重新拍摄或发送。"
VOICE_GOT = "已收到语音，已附到这次走访（本次共 {n} 个照片和语音）。继续发送，或点「下一步」。"
VOICE_SEEN = "这条语音之前已经收到过，不再重复保存。"
VOICE_WHICH = "收到语音，已保存。这是哪一户的走访语音？"
VOICE_WHICH_NONE = "收到语音，已保存。请发送「走访 户主姓名」，10 分钟内开始的走访会把语音放在卡片上，确认时一起保存。"
VOICE_UNREADABLE = "语音无法读取，请重新录制。"
VOICE_ATTACHED = "语音已附到 {name} 的走访记录（记录号 {id}）。"
LOCATION_ATTACHED = "位置已记到 {name} 的走访记录（记录号 {id}）。"
LOCATION_LATER = "位置已收到。10 分钟内上报的走访会带上这个位置。"

REVOKE_ASK = "要撤销 {name} 的走访记录（{at}，记录号 {id}）吗？撤销后会留痕。"
REVOKED = "已撤销记录号 {id}（留痕可查），相关问题已作废。"
NOTHING_TO_AMEND = "24 小时内没有可修改的走访记录。更早的记录请联系乡镇或县里修改。"

PROGRESS_HEAD = (
    "{village} {month} 走访进度：达标 {met}/{due} 户（{pct:.0f}%），走访 {done}/{required} 次。"
)
PROGRESS_DUE = "还需走访（按走访次数从少到多）："
PROGRESS_DONE = "本月应访户都已达标，辛苦了！"
PROGRESS_MORE = "发送「未走访」查看全部。"
DUE_LINE = "{name}（{code}，{category}）已访 {visited}/{required}"
DUE_HEAD = "{month} 还需走访 {n} 户（第 {page}/{pages} 页）："
DUE_NONE = "{month} 本村没有还需走访的户。"
STAFF_HEAD = (
    "{region} {month} 走访覆盖：达标 {met}/{due} 户（{pct:.0f}%），走访 {done}/{required} 次。"
)
STAFF_LINE = "{name}：{met}/{due} 户（{pct:.0f}%）"
STAFF_DUE_HINT = "发送「未走访 村名」查看某村还需走访的户。"
VILLAGE_UNKNOWN = "您的辖区内没有找到「{q}」村。"
DUE_OWN_ONLY = "「{q}」不是本村：村里只能查看本村（{own}）的走访情况，下面是本村的。"
NEXT_PAGE = "下一页"

PROBLEMS_HEAD = "未销号的问题 {n} 个："
PROBLEMS_NONE = "没有待整改的问题。"
PROBLEMS_MORE = "……还有 {n} 条"
PROBLEM_LINE = "{ref} {name}：{kind}—{desc}（期限 {deadline}）"
RECTIFY_HOW = "请在「整改完成」后写问题编号，例如：整改完成 12。发送「问题」查看编号。"
RECTIFY_PHOTO_ASK = "请发送一张整改后的照片作为证明（{ref}：{name} {kind}）。"
RECTIFY_DONE = "{ref}（{name} {kind}）已整改销号，照片已存档。"
RECTIFY_WAITING = "请发送整改照片；发送「取消」退出。"
# A voice note while 整改完成 waits for its photo: kept with the problem, not the proof.
RECTIFY_VOICE_GOT = (
    "已收到语音，已附到{ref}（共 {n} 段语音）。请再发送整改后的照片，照片才算整改证明。"
)
RECTIFY_VOICE_SEEN = "这条语音之前已经收到过，不再重复保存。请发送整改后的照片。"

EXPORT_READY = (
    "{region} {month} 台账请在工作台导出：打开下面的链接登录（10 分钟内有效，只能用一次），"
    "点「生成 Excel」，生成后只有您本人可以下载："
)
MONTH_BAD = "月份格式不对，请写成 2026-11。"

BTN_OK = "正常"
BTN_PROBLEM = "有问题"
BTN_SKIP_CHECK = "未查看"
BTN_SKIP = "跳过"
BTN_NEXT = "下一步"
BTN_CONFIRM = "确认"
BTN_EDIT = "修改"
BTN_SAME = "是同一次（合并）"
BTN_NEW = "不是，另记一次"
BTN_REVOKE = "确认撤销"

# A new 走访 while a card waits for 确认 (handlers/visit_report.py).
REPLACE_ASK = "{name}的走访还没确认，先保存吗？"
BTN_KEEP = "保存"
BTN_DROP = "丢弃"
REPLACE_DROPPED = "（{name}未确认的走访记录已丢弃。）"
# 修改 记录号 N (handlers/visit_revoke.py).
NO_SUCH_RECORD = "没有可修改的记录号 {id}：只能修改自己范围内 24 小时内的有效走访记录。"

# --- rectification review (复核) ---------------------------------------------------------------
RECTIFY_SUBMITTED = (
    "问题 {id}（{name} {kind}）的整改照片已提交，等待乡镇或县里复核；复核通过后才算销号。"
)
PROBLEM_IN_REVIEW = "｜待复核"
HELP_REVIEW_LIST = "待复核 — 查看各村提交的整改（整改前后照片）"
HELP_REVIEW_OK = "复核通过 编号 — 整改合格，销号"
HELP_REVIEW_BACK = "复核退回 编号 理由 — 整改不合格，退回重改（可加 / 截止 本周五）"
REVIEW_NONE = "目前没有待复核的整改。"
REVIEW_HEAD = "待复核的整改 {n} 项："
REVIEW_LINE = "问题 {id} {village} {name}：{kind}—{desc}（提交于 {at}）"
REVIEW_MORE = "……还有 {n} 项，复核后再发送「待复核」查看。"
REVIEW_BEFORE = "问题 {id} {name} 整改前（走访时拍的照片）"
REVIEW_AFTER = "问题 {id} {name} 整改后"
REVIEW_NO_BEFORE = "问题 {id} 走访时没有拍照片。"
REVIEW_ASK = "问题 {id} {village} {name}：{kind}，整改是否合格？"
REVIEW_TAIL = "也可以发送「复核通过 编号」或「复核退回 编号 理由」。"
BTN_REVIEW_OK = "复核通过"
BTN_REVIEW_BACK = "复核退回"
REVIEW_OK_HOW = "请写上问题编号，例如：复核通过 12。发送「待复核」查看编号。"
REVIEW_BACK_HOW = "退回的写法：复核退回 编号 理由 / 截止 本周五（不写截止默认3天内）"
REVIEW_APPROVED = "问题 {id}（{village} {name} {kind}）整改复核通过，已销号，已通知村里。"
REVIEW_RETURNED = "问题 {id}（{village} {name} {kind}）已退回重改，新期限 {deadline}，已通知村里。"
REVIEW_REASON_ASK = "请发送退回理由（例如：照片看不清屋顶），可加「/ 截止 本周五」。"
REVIEW_WAITING_NOTE = "另有 {n} 项整改待复核：发送「待复核」查看整改前后照片。"

# --- evidence on the right household (photos) ------------------------------------------------
BTN_NOT_NEEDED = "不用了"
PHOTO_DROPPED = "好的，这张照片不附到任何走访（已保存，不会自动附上）。"
PHOTO_ALREADY_PLACED = "这张照片已经附到走访或任务上了。发送「照片」查看。"
PHOTO_WHICH_OPEN = "现在有两次走访还没确认（{a}、{b}），这张照片是哪一户的？"
PHOTO_FOR_NEXT = "好的，等 {name} 的走访开始时，这张照片会放在它的卡片上，确认前可以看到。"
PHOTO_FINISH_FIRST = "正在记录 {name} 的走访：请先确认或取消它，再给这张照片选户。"
PHOTO_ADDED = "照片已加到 {name} 这次的走访（共 {n} 张），确认时一起保存。"
HELP_PHOTOS = "照片 [户主] — 查看走访照片，可移到别户或移除"
PHOTOS_HEAD = "{name} 的走访（记录号 {id}，{at}）有 {n} 张照片："
PHOTOS_NONE = "这次走访没有照片。"
PHOTOS_LINE = "{i}. {at} 收到{taken}"
PHOTOS_TAKEN = "（拍摄于 {at}）"
PHOTOS_MORE = "……还有 {n} 张没有显示"
PHOTO_ITEM = "照片 {i}（{name}）"
BTN_MOVE = "移到别户"
BTN_REMOVE = "移除"
BTN_REMOVE_YES = "确认移除"
BTN_PHOTO_KEEP = "保留"
MOVE_ASK = "把这张照片（现在在 {name} 的走访上）移到哪一户？只能选本村同一天的走访。"
MOVE_NONE = "{name} 走访的那天本村没有其他走访记录，无法移动。"
MOVE_TARGET = "{name} {at}"
MOVED = "照片已从 {before} 的走访移到 {after} 的走访（记录号 {id}）。"
REMOVE_ASK = (
    "确定把这张照片从 {name} 的走访（记录号 {id}）中移除吗？照片仍会保存，但不再属于任何走访。"
)
REMOVED = "已从 {name} 的走访中移除这张照片。"
KEPT = "好的，照片仍在 {name} 的走访上。"
