"""Chinese sentences of the console sign-in command (后台)."""

from __future__ import annotations

HELP = "后台 — 获取县乡工作台的一次性登录链接"
LINK = (
    "县乡工作台登录链接（10 分钟内有效，只能用一次，请勿转发）：\n{url}\n"
    "在电脑或手机浏览器中打开即可，登录后 12 小时内有效。"
)
