"""Plays DingTalk's side of the robot callback: JSON bodies with the ``timestamp`` and
``sign`` headers.

Written from DingTalk's "receive message" description, independently of
bot/channels/dingtalk/signature.py, so a shared misreading would not hide: the string to sign
is the millisecond timestamp, a line feed, and the app secret; the key is the app secret;
HMAC-SHA256, then standard base64.
"""

from __future__ import annotations

import base64
import hmac
import itertools
from typing import Any

_ids = itertools.count(1)


class DingTalkClient:
    def __init__(self, app_secret: str, robot_code: str) -> None:
        self.secret = app_secret.encode("utf-8")
        self.robot_code = robot_code

    def headers(self, timestamp_ms: int, *, sign: str | None = None) -> dict[str, str]:
        ts = str(timestamp_ms)
        mac = hmac.new(self.secret, ts.encode("utf-8") + b"\n" + self.secret, "sha256")
        return {
            "timestamp": ts,
            "sign": sign if sign is not None else base64.standard_b64encode(mac.digest()).decode(),
            "Content-Type": "application/json; charset=utf-8",
        }

    def message(
        self,
        user: str,
        msgtype: str,
        created_ms: int,
        *,
        msg_id: str | None = None,
        group: bool = False,
        **fields: Any,
    ) -> dict[str, Any]:
        n = next(_ids)
        return {
            "conversationId": f"cid{user}==",
            "conversationType": "2" if group else "1",
            "chatbotCorpId": "dingcorp",
            "chatbotUserId": "$:LWCP_v1:$bot",
            "msgId": msg_id or f"msgXq{n}+A/b==",
            "senderNick": "张三",
            "isAdmin": False,
            "senderStaffId": user,
            "senderId": f"$:LWCP_v1:${user}",
            "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=x",
            "sessionWebhookExpiredTime": created_ms + 5_400_000,
            "createAt": created_ms,
            "robotCode": self.robot_code,
            "msgtype": msgtype,
            **fields,
        }

    def text(self, user: str, text: str, created_ms: int, **kw: Any) -> dict[str, Any]:
        return self.message(user, "text", created_ms, text={"content": text}, **kw)

    def audio(
        self, user: str, code: str, created_ms: int, recognition: str = "", **kw: Any
    ) -> dict[str, Any]:
        """A voice message as the robot receives it: duration (ms), downloadCode, and
        DingTalk's speech recognition."""
        content = {"duration": 3000, "downloadCode": code, "recognition": recognition}
        return self.message(user, "audio", created_ms, content=content, **kw)

    def picture(self, user: str, code: str, created_ms: int, **kw: Any) -> dict[str, Any]:
        content = {"downloadCode": code, "pictureDownloadCode": "p" + code}
        return self.message(user, "picture", created_ms, content=content, **kw)
