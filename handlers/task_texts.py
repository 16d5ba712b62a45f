"""User-facing text of tasks, notices, submissions and reviews (one place, for review)."""

HOW_TO_SEND = (
    "发任务的写法（一条消息，用 / 分开）：\n"
    "发任务 标题 / 截止 12月5日前 / 范围 东岭镇 / 需要照片\n"
    "范围可写：全县、乡镇名、村名（多个用顿号分开）；不写范围就是全县。\n"
    "发通知 标题 / 内容 …… / 范围 全县（通知不需要截止时间，只需确认收到）"
)
ASK_TITLE = "请发送任务标题（例如：上报11月危房改造进度）。"
ASK_DEADLINE = "请发送截止时间，例如：12月5日前、本周五、3天内。"
ASK_SCOPE = "发给哪些村？请发送「全县」，或乡镇名、村名（多个用顿号分开）。"
SECRETARY_CANNOT_SEND = "只有县里工作人员可以发任务。有事请联系县乡村振兴局。"
SENT = "已发出{kind}「{title}」（编号 {task}）给 {n} 个村。{deadline}{missing}"
SENT_MISSING = "\n其中 {n} 个村没有第一书记，暂时无人接收：{names}"
PUSH_TASK = "📋 县里新任务：{title}\n{body}截止：{deadline}{evidence}\n编号 {id}。点「收到」确认；办完点「已完成」或发送「提交 {id}」。"
PUSH_NOTICE = "📢 县里通知：{title}\n{body}请点「收到」确认已阅。"
EVIDENCE_NEEDED = "\n需要提交照片或文字材料。"

NO_TASKS = "目前没有需要您办理的任务。"
LIST_HEAD = "您的任务（按截止时间排序）："
LIST_LINE = "{id}. {title}｜{deadline}｜{status}"
LIST_TAIL = "发送「提交 编号」上报完成情况。"
ACKED = "已确认收到「{title}」。{next}"
ACK_NEXT_TASK = "办完后发送「提交 {id}」。"
NOT_YOURS = "编号 {id} 不是派给您的任务，不能操作。发送「任务」查看您的任务。"
ASK_ID = "请写上任务编号，例如：提交 12。发送「任务」查看编号。"
SUBMIT_START = "请发送「{title}」的完成情况：文字说明或照片都可以，可以发多条。\n发完后发送「好了」提交，发送「取消」放弃。"
SUBMIT_GOT_TEXT = "已记下文字（共 {t} 段文字、{p} 张照片）。还有就继续发，发完发送「好了」。"
SUBMIT_GOT_PHOTO = "已收到照片（共 {t} 段文字、{p} 张照片）。还有就继续发，发完发送「好了」。"
SUBMIT_EMPTY = "还没有收到任何材料。请发文字说明或照片，再发送「好了」。"
SUBMIT_FULL = "材料已经够多了（最多 {n} 条），请发送「好了」提交。"
SUBMITTED = "已提交「{title}」，等待县里审核。"
PUSH_SUBMITTED = "📥 {village} 提交了「{title}」（编号 {id}）：\n{summary}\n发送「通过 {id}」或「退回 {id} 理由」。"

APPROVED = "已通过 {village} 的「{title}」（编号 {id}）。"
PUSH_APPROVED = "✅ 您提交的「{title}」已审核通过。"
RETURN_HOW = "退回的写法：退回 编号 理由 / 截止 本周五（不写截止默认3天内）"
RETURNED = "已退回 {village} 的「{title}」（编号 {id}），新截止 {deadline}。"
PUSH_RETURNED = (
    "↩️ 「{title}」被退回：{reason}\n新的截止时间：{deadline}。改好后发送「提交 {id}」重新提交。"
)
NONE_WAITING = "目前没有待审核的提交。"
WAITING_HEAD = "待审核的提交："
PROGRESS_HEAD = "「{title}」（编号 {task}）截止 {deadline}：共 {n} 个村"
PROGRESS_NOT_DONE = "未完成的村："
CANCELLED_TASK = "已撤销任务「{title}」，{n} 个村的提醒已停止。"
TASKS_HEAD = "本县进行中的任务："
NO_COUNTY_TASKS = "本县目前没有进行中的任务。发送「发任务」新建。"

DEAD_HEAD = "发送失败的消息（最近）："
DEAD_NONE = "没有发送失败的消息。"
DEAD_LINE = "#{id} {name}｜{status}｜{error}"

SETTINGS_HOW = (
    "设置的写法：设置 早报 08:00 ｜ 设置 早报 关 ｜ 设置 早报 开 ｜ 设置 晚报 20:30 ｜ 设置 晚报 关"
)
SETTINGS_OK = "已设置：{what}{value}。"
