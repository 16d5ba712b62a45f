"""What the task use cases say: the pushes a village or a creator receives, and the Chinese
sentence of every refusal they raise (chat, API and console show these as they are)."""

# --- pushes ------------------------------------------------------------------------------
PUSH_TASK = "📋 县里新任务：{title}\n{body}截止：{deadline}{evidence}\n编号 {id}。点「收到」确认；办完点「已完成」或发送「提交 {id}」。"
PUSH_NOTICE = "📢 县里通知：{title}\n{body}请点「收到」确认已阅。"
EVIDENCE_NEEDED = "\n需要提交照片或文字材料。"
PUSH_SUBMITTED = "📥 {village} 提交了「{title}」（编号 {id}）：\n{summary}\n发送「通过 {id}」或「退回 {id} 理由」。"
SUBMITTED_PHOTOS = "\n（附照片 {n} 张）"
PUSH_APPROVED = "✅ 您提交的「{title}」已审核通过。"
PUSH_RETURNED = (
    "↩️ 「{title}」被退回：{reason}\n新的截止时间：{deadline}。改好后发送「提交 {id}」重新提交。"
)
BUTTON_ACK = "收到"
BUTTON_DONE = "已完成"
BUTTON_APPROVE = "通过"

# --- refusals ----------------------------------------------------------------------------
COUNTY_ONLY = "只有县里工作人员可以发任务。有事请联系县乡村振兴局。"
UNKNOWN_KIND = "未知的任务类型：{kind}"
EMPTY_TITLE = "任务标题不能为空。"
TOO_LONG = "标题最多 {title} 字，内容最多 {body} 字。"
NEEDS_DEADLINE = "任务需要截止时间。"
BAD_OFFSETS = "提醒时间写得不对，例如 3d、1d、0d、6h。"
NO_VILLAGES_IN_COUNTY = "本县还没有录入任何村。"
NO_VILLAGES_CHOSEN = "没有选中任何村。"
UNKNOWN_TOWNSHIP = "本县没有乡镇「{name}」{hint}。"
UNKNOWN_TOWNSHIP_HINT = "，您是不是要找：{names}"
UNKNOWN_VILLAGE = "本县没有「{name}」{hint}。"
UNKNOWN_VILLAGE_HINT = "，相近的村：{names}"
AMBIGUOUS_VILLAGE = "本县有 {n} 个「{name}」，请写成「乡镇名村名」。"

NOT_YOURS = "编号 {id} 不是派给您的任务，不能操作。发送「任务」查看您的任务。"
NOT_YOURS_TO_SUBMIT = "这不是派给您的任务，不能提交。"
NOTHING_TO_SUBMIT = "「{title}」现在是「{status}」，不需要提交。"
NOTHING_TO_SUBMIT_NOW = "这项任务现在是「{status}」，不需要提交。"
NEEDS_EVIDENCE = "这项任务需要提交材料：请发文字说明或照片。"
NO_SUCH_ASSIGNMENT = "没有编号为 {id} 的任务。"
NOT_REVIEWABLE = "编号 {id} 现在是「{status}」，只有待审核的任务可以通过或退回。"
NO_SUCH_COUNTY_TASK = "没有编号为 {id} 的本县任务。"
NO_SUCH_TASK = "没有编号为 {id} 的任务。"
CHANGED_MEANWHILE = "编号 {id} 刚刚被别人处理过，请重新查看。"

# --- 撤销任务 and the real state of a withdrawn or finished item ---------------------------
NOT_YOURS_TO_CANCEL = "任务「{title}」是别人发的，只有发任务的人或县管理员可以撤销。"
ALREADY_CANCELLED = "任务「{title}」已经撤销过了。"
PUSH_CANCELLED = "🚫 任务「{title}」已撤销，无需办理。"
PUSH_CANCELLED_CREATOR = "🚫 您发的任务「{title}」（编号 {task}）已被{who}撤销，{n} 个村不用再办。"
ITEM_CANCELLED = "任务「{title}」已撤销，无需办理。"
ITEM_APPROVED = "「{title}」已通过审核，不需要再提交。"
ITEM_SUBMITTED = "「{title}」已提交，正在等待审核。"
