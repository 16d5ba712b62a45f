"""Web chat frames: validation of what the page sends, and the JSON the server sends back.

The protocol itself is documented in bot/channels/webchat/channel.py. Nothing here touches aiohttp or
the database, so every rule can be read (and tested) on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.channels import split, texts
from core.inputs import BadInput, finite, load_json
from core.messages import Incoming
from core.text import clean_text
from services.media import MAX_IMAGE_BYTES
from storage import webchat as store

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# EXIF DateTimeOriginal as the page reads it from the original photo (the shrunk copy it
# uploads has no EXIF): "YYYY:MM:DD HH:MM:SS", local wall-clock time.
EXIF_TIME = re.compile(r"^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$")


# User-facing text of the web chat, in one place (the sentences every channel says come
# from bot.channels.texts).
TEXTS = {
    "bad_json": "消息格式不对（不是 JSON），请刷新页面后再试。",
    "not_object": "消息格式不对，请刷新页面后再试。",
    "unknown_type": "不认识的消息类型，请刷新页面后再试。",
    "bad_id": "消息编号格式不对，请刷新页面后再试。",
    "empty_text": "消息是空的，请输入内容后再发送。",
    "too_long": texts.TOO_LONG,
    "frame_too_big": "这条消息太大了，请分几条发送。",
    "binary": "不支持这种消息。发照片请点「＋」上传。",
    "bad_button": "按钮数据不对，请重新点一下按钮。",
    "bad_location": "位置数据不对，请重新点「发送位置」。",
    "too_fast": "发得太快了，请稍等几秒再发。",
    "session_bad": "登录信息已过期，请刷新页面。",
    "no_cookie": "页面已过期，请刷新页面后再试。",
    "upload_unbound": "请先绑定身份再发照片：发送「绑定 邀请码」。",
    "upload_not_multipart": "上传格式不对，请在页面上点「＋」选择照片。",
    "upload_missing": "没有收到照片，请重新选择照片。",
    "upload_too_big": texts.PHOTO_TOO_BIG,
    "media_forbidden": "请先在村务助手里绑定身份，才能查看照片。",
    "media_link_bad": "照片链接无效或已过期，请在聊天中重新发送「导出」获取新的台账。",
    "shutting_down": "服务正在重启，请稍后再发。",
}


@dataclass
class WebChatLimits:
    max_frame_chars: int = 32_000
    max_ws_bytes: int = 1024 * 1024  # beyond this aiohttp closes the socket (1009)
    frames_per_second: float = 5.0
    burst: int = 20
    max_upload: int = MAX_IMAGE_BYTES
    history: int = store.HISTORY_LIMIT


class TokenBucket:
    """Per-socket frame budget: ``burst`` frames at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.warned = False

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.warned = False
            return True
        return False


class FrameError(ValueError):
    def __init__(self, key: str, reply_to: str | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.text = TEXTS[key]
        self.reply_to = reply_to


def sign(key: bytes, external_id: str) -> str:
    return hmac.new(key, external_id.encode(), hashlib.sha256).hexdigest()[:32]


def cookie_value(key: bytes, external_id: str) -> str:
    return f"{external_id}.{sign(key, external_id)}"


def read_cookie(key: bytes, value: str | None) -> str | None:
    """The browser id in a signed cookie, or ``None`` when missing or forged."""
    if not value or len(value) > 200:
        return None
    external_id, _, sig = value.rpartition(".")
    if not external_id or not hmac.compare_digest(sig, sign(key, external_id)):
        return None
    return external_id


def exif_time(value: str) -> str | None:
    """The ISO local time of an EXIF time string the page sent, or ``None`` when it is not
    one (or not a real date)."""
    if not EXIF_TIME.match(value):
        return None
    try:
        return datetime.strptime(value, "%Y:%m:%d %H:%M:%S").isoformat()  # noqa: DTZ007
    except ValueError:
        return None


def media_url(path: str | None) -> str | None:
    if not path:
        return None
    if path.startswith(("http://", "https://", "/")):
        return path
    return "/media/" + path


def frame(kind: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A reply or push frame from a ``Reply.to_dict()`` body."""
    return {
        "type": kind,
        "text": body.get("text", ""),
        "buttons": [
            {"label": b["label"], "payload": b["payload"]} for b in body.get("buttons", ())
        ],
        "image": media_url(body.get("image")),
        "link": body.get("link"),
        **extra,
    }


def inbound_body(incoming: Incoming, label: str = "") -> dict[str, Any]:
    """How a message the person sent is kept in the history (with the page's own id, so a
    reconnecting page knows it arrived)."""
    cid = incoming.message_id.partition(":")[2]
    if incoming.kind == "photo" and incoming.photo:
        return {"kind": "photo", "image": incoming.photo.get("path"), "text": "", "cid": cid}
    if incoming.kind == "voice" and incoming.photo:
        return {"kind": "voice", "audio": incoming.photo.get("path"), "text": "", "cid": cid}
    if incoming.kind == "location":
        place = incoming.label or "我的位置"
        text = f"📍 {place}（{incoming.lat:.5f}, {incoming.lon:.5f}）"
        return {"kind": "location", "text": text, "cid": cid}
    if incoming.kind == "button":
        return {"kind": "button", "text": label or incoming.payload, "cid": cid}
    return {"kind": "text", "text": incoming.text, "cid": cid}


def history_message(entry: store.HistoryEntry) -> dict[str, Any]:
    body = entry.body
    return {
        "from": "me" if entry.direction == "in" else "bot",
        "id": f"push-{entry.outbox_id}" if entry.outbox_id else f"h{entry.id}",
        "text": body.get("text", ""),
        "buttons": list(body.get("buttons", ())),
        "image": media_url(body.get("image")),
        "audio": media_url(body.get("audio")),
        "link": body.get("link"),
        "at": entry.created_at.isoformat(),
        "client_id": body.get("cid"),
    }


@dataclass(frozen=True)
class ClientFrame:
    """A validated client frame: what becomes an ``Incoming``."""

    id: str
    kind: str  # text | button | location
    fields: dict[str, Any]  # Incoming fields: text / payload / lat, lon, label
    label: str = ""  # the button's label, shown in the history


def parse_frame(raw: str, max_chars: int) -> ClientFrame:
    """Validate one client frame or raise :class:`FrameError`."""
    if len(raw) > max_chars:
        raise FrameError("frame_too_big")
    try:
        data = load_json(raw)  # depth, float range, NaN and integer length bounded
    except BadInput:
        raise FrameError("bad_json") from None
    if not isinstance(data, dict):
        raise FrameError("not_object")
    cid = data.get("id")
    if cid is None:
        cid = uuid.uuid4().hex
    elif not isinstance(cid, str) or not CLIENT_ID.match(cid):
        raise FrameError("bad_id")
    kind = data.get("type")
    parse = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        raise FrameError("unknown_type", cid)
    return parse(data, cid)


def _text(data: dict[str, Any], cid: str) -> ClientFrame:
    text = data.get("text")
    if not isinstance(text, str):
        raise FrameError("empty_text", cid)
    if split.too_long(text):
        raise FrameError("too_long", cid)
    text = clean_text(text)
    if not text.strip():
        raise FrameError("empty_text", cid)
    return ClientFrame(cid, "text", {"text": text})


def _button(data: dict[str, Any], cid: str) -> ClientFrame:
    payload, label = data.get("payload"), data.get("label", "")
    if not isinstance(payload, str) or not payload or len(payload) > 200:
        raise FrameError("bad_button", cid)
    if not isinstance(label, str) or len(label) > 64:
        raise FrameError("bad_button", cid)
    payload = clean_text(payload)
    if not payload:
        raise FrameError("bad_button", cid)
    return ClientFrame(cid, "button", {"payload": payload}, clean_text(label))


def _location(data: dict[str, Any], cid: str) -> ClientFrame:
    lat, lon, label = (
        finite(data.get("lat"), 90),
        finite(data.get("lon"), 180),
        data.get("label", ""),
    )
    if lat is None or lon is None:
        raise FrameError("bad_location", cid)
    if not isinstance(label, str) or len(label) > 200:
        raise FrameError("bad_location", cid)
    label = clean_text(label).strip()
    return ClientFrame(cid, "location", {"lat": lat, "lon": lon, "label": label})


_PARSERS: dict[str, Callable[[dict[str, Any], str], ClientFrame]] = {
    "text": _text,
    "button": _button,
    "location": _location,
}
