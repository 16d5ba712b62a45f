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
