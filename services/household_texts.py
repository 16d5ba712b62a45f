"""Chinese sentences of the household use cases (添加、修改、注销、恢复 a household)."""

from __future__ import annotations

WHAT_EDIT = "修改户信息"
NO_SUCH_HOUSEHOLD = "没有编号为 {id} 的户。"
CODE_NEEDED = "请填写户编号。"
CODE_TOO_LONG = "户编号太长（最多 {n} 个字符）。"
CODE_CHARS = "户编号只能由字母、数字、- 和 _ 组成。"
CODE_TAKEN = "户编号 {code} 已经有了，请换一个。"
HEAD_NEEDED = "请填写户主姓名。"
NAME_TOO_LONG = "「{field}」太长（最多 {n} 个字）。"
NAME_LINES = "「{field}」只能写一行。"
MEMBERS_BAD = "家庭人口应是 1 到 {n} 之间的整数。"
CATEGORY_BAD = "户类别「{category}」不对，应为：{known}。"
PHONE_BAD = "联系电话格式不对（只能有数字、空格、- 和开头的 +）。"
VILLAGE_BAD = "请选择本辖区内的一个村。"
REASON_NEEDED = "请填写注销原因。"
REASON_TOO_LONG = "原因太长了（最多 {n} 个字）。"
ALREADY_RETIRED = "这户已经注销了。"
NOT_RETIRED = "这户没有注销，不用恢复。"
RETIRED_NO_EDIT = "这户已经注销，请先恢复再修改。"

# Field names in the change history (before -> after).
FIELD_ZH = {
    "code": "户编号",
    "village": "所属村",
    "head_name": "户主姓名",
    "category": "户类别",
    "members": "家庭人口",
    "helper": "帮扶责任人",
    "phone": "联系电话",
    "active": "状态",
}
ACTION_ZH = {
    "household.create": "添加",
    "household.edit": "修改",
    "household.retire": "注销",
    "household.restore": "恢复",
}
ACTIVE_ZH = {True: "在册", False: "已注销"}
OPERATOR = "管理员（命令行）"
