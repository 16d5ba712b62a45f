"""What the visit and rectification use cases say when they refuse, in one place for review.

The chat renders these as they are (bot.inbound turns a core.errors error into a reply).
"""

NO_VILLAGE = "走访只能由驻村人员记录（您的辖区不是村）。"
OTHER_VILLAGE = "「{q}」不是本村的户，您只能记录本村（{village}）的走访。"
# One sentence for an unknown, a foreign and a malformed id, so replies cannot probe.
NOT_YOURS = "您只能查看和处理本辖区（{region}）的事务，无权访问{what}。"
THIS_HOUSEHOLD = "这一户"
THIS_PHOTO = "这张照片"
RECORDING_VISITS = "记录走访"
CLOSING_PROBLEMS = "整改销号"
NOTE_TOO_LONG = "备注太长了（{n} 字，最多 {limit} 字），请精简后重新发送。"
NOTHING_TO_REVOKE = "24 小时内没有可撤销的走访记录。"
RECTIFY_UNKNOWN = "没有{ref}。发送「问题」查看编号。"
THAT_PROBLEM = "这个问题"
RECTIFY_NOT_OPEN = "{ref} 已经是「{status}」状态，无需再次销号。"
PROBLEM_TITLE = "整改：{name} {kind}"
# --- rectification review (复核) ------------------------------------------------------------
REVIEWING_FIXES = "复核整改"
RECTIFY_NOT_IN_REVIEW = "问题 {id} 现在是「{status}」，只有待复核的整改可以复核。"
RECTIFY_CHANGED = "问题 {id} 刚刚被别人处理过，请重新查看。"
RECTIFY_USE_FIX = "这是整改事项：请发送「整改完成 {id}」并附一张整改后的照片。"
PUSH_FIX_APPROVED = "✅ 问题 {id}（{name} {kind}）整改已复核通过，已销号。"
PUSH_FIX_RETURNED = (
    "↩️ 问题 {id}（{name} {kind}）整改复核退回：{reason}\n"
    "新的期限：{deadline}。整改后再发送「整改完成 {id}」并附照片。"
)
# --- 照片: a visit's photos, moved or removed ---------------------------------------------------
PHOTO_UNKNOWN = "没有这张照片（或它不在本村的走访记录上）。发送「照片」查看。"
NO_VISIT_YET = "您还没有走访记录。"
PHOTOS_WHO = "本村没有找到「{q}」这一户（或有几户同名），请写户主全名或户编号。"
NOT_VISITED = "{name} 还没有走访记录。"
MOVE_TARGET_UNKNOWN = "只能移到本村同一天的其他走访记录上。发送「照片」重新查看。"
