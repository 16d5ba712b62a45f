"""Transport-free messages: what a channel hands in (``Incoming``) and what goes back (``Reply``).

Both are plain, JSON-serializable data: an ``Incoming`` is stored in the inbox as it is, and a
``Reply`` is the body of an outbox row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.privacy import mask_pii

Kind = Literal["text", "photo", "voice", "location", "button", "event"]
KINDS = ("text", "photo", "voice", "location", "button", "event")
MAX_TEXT = 2000


@dataclass(frozen=True)
class Incoming:
    channel: str
    sender_id: str
    message_id: str
    kind: Kind
    ts: datetime
    text: str = ""
    payload: str = ""  # button payload, e.g. "visit:confirm"
    # services.media.StoredImage.to_dict(): the photo, or for kind voice the voice note (then
    # ``text`` is the channel's speech recognition, if it sent one)
    photo: dict[str, Any] | None = None
    lat: float | None = None
    lon: float | None = None
    label: str = ""  # place name sent with a location

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "sender_id": self.sender_id,
            "message_id": self.message_id,
            "kind": self.kind,
            "ts": self.ts.isoformat(),
            "text": self.text,
            "payload": self.payload,
            "photo": self.photo,
            "lat": self.lat,
            "lon": self.lon,
            "label": self.label,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incoming:
        return cls(
            channel=data["channel"],
            sender_id=data["sender_id"],
            message_id=data["message_id"],
            kind=data["kind"],
            ts=datetime.fromisoformat(data["ts"]),
            text=data.get("text") or "",
            payload=data.get("payload") or "",
            photo=data.get("photo"),
            lat=data.get("lat"),
            lon=data.get("lon"),
            label=data.get("label") or "",
        )


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    image: str | None = None  # path relative to the media directory
    link: str | None = None  # e.g. a download URL for an export
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"kind": "task", "assignment": 7}

    def __post_init__(self) -> None:
        # Every reply and push is built here: phone and ID numbers never leave in full.
        object.__setattr__(self, "text", mask_pii(self.text))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["buttons"] = [{"label": b.label, "payload": b.payload} for b in self.buttons]
        if self.image:
            out["image"] = self.image
        if self.link:
            out["link"] = self.link
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=data.get("text", ""),
            buttons=tuple(Button(b["label"], b["payload"]) for b in data.get("buttons", ())),
            image=data.get("image"),
            link=data.get("link"),
            meta=dict(data.get("meta") or {}),
        )


def text(body: str, *buttons: Button, **kw: Any) -> Reply:
    return Reply(body, tuple(buttons), **kw)


def buttons(body: str, pairs: list[tuple[str, str]]) -> Reply:
    return Reply(body, tuple(Button(label, payload) for label, payload in pairs))


def paged(lines: list[str], limit: int = 20, more: str = "……还有 {n} 条") -> list[str]:
    """Every list the bot prints is bounded: show ``limit`` lines and say how many are left."""
    if len(lines) <= limit:
        return lines
    return lines[:limit] + [more.format(n=len(lines) - limit)]
