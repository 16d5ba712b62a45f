"""The unsent task or notice a 发任务 / 发通知 flow carries from question to question, typed.

It lives as a JSON dict in the sender's conversation row. ``number`` is drawn when the draft
starts and rides in every button of it, so a press on an older, finished or someone else's
draft is stale. The one-line form (``标题 / 截止 12月5日前 / 范围 东岭镇 / 需要照片``) is parsed
here as well; nothing here is checked against the database.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.payloads import MAX_ID
from core.statuses import TaskKind

FLOW = "broadcast"
STEPS = ("title", "body", "deadline", "scope", "evidence")


def parse_scope(text: str) -> dict[str, Any]:
    """``全县`` | ``东岭镇、石门村`` -> a scope dict; names ending in 镇/乡 are townships."""
    names = [n for n in re.split(r"[、,，;；\s]+", text.strip()) if n]
    if not names or any(n in ("全县", "全部", "所有村") for n in names):
        return {"county": True}
    towns = [n for n in names if n.endswith(("镇", "乡", "街道"))]
    villages = [n for n in names if n not in towns]
    scope: dict[str, Any] = {}
    if towns:
        scope["townships"] = towns
    if villages:
        scope["villages"] = villages
    return scope


_HEADS = {"截止": "deadline_text", "期限": "deadline_text", "范围": "scope_text"}
_HEADS |= {"发给": "scope_text", "内容": "body", "正文": "body", "说明": "body"}
_EVIDENCE_WORDS = ("需要照片", "需要材料", "要照片", "需要佐证")


def parse_one_liner(text: str) -> dict[str, Any]:
    """``标题 / 截止 12月5日前 / 范围 东岭镇 / 需要照片`` -> draft fields (unvalidated)."""
    parts = [p.strip() for p in re.split(r"\s*[/／\n]\s*", text) if p.strip()]
    draft: dict[str, Any] = {}
    for part in parts:
        head = _HEADS.get(part[:2])
        if head:
            draft[head] = part[2:].strip(" ：:")
        elif part.startswith(_EVIDENCE_WORDS):
            draft["evidence"] = True
        elif "title" not in draft:
            draft["title"] = part
        else:
            draft["body"] = (draft.get("body", "") + "\n" + part).strip()
    return draft


@dataclass(frozen=True)
class BroadcastDraft:
    kind: str = TaskKind.TASK.value
    number: int = 0  # the draft's number in its buttons
    title: str = ""
    body: str = ""
    body_done: bool = False  # the body was asked (it may stay empty)
    deadline: datetime | None = None
    scope_text: str | None = None
    evidence: bool | None = None  # None: not asked yet (a notice never needs it)

    @classmethod
    def start(cls, kind: str) -> BroadcastDraft:
        return cls(kind=kind, number=secrets.randbelow(MAX_ID) + 1)

    @property
    def is_notice(self) -> bool:
        return self.kind == TaskKind.NOTICE

    def but(self, **changes: Any) -> BroadcastDraft:
        return dataclasses.replace(self, **changes)

    def next_step(self) -> str:
        """The first question still open, or ``preview`` when all are answered."""
        if not self.title:
            return "title"
        if not self.body_done:
            return "body"
        if not self.is_notice and self.deadline is None:
            return "deadline"
        if self.scope_text is None:
            return "scope"
        if not self.is_notice and self.evidence is None:
            return "evidence"
        return "preview"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "number": self.number, "title": self.title}
        out |= {"body": self.body, "body_done": self.body_done, "scope_text": self.scope_text}
        out["deadline"] = self.deadline.isoformat() if self.deadline else None
        out["evidence"] = self.evidence
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BroadcastDraft:
        deadline = data.get("deadline")
        evidence = data.get("evidence")
        return cls(
            kind=str(data.get("kind") or TaskKind.TASK.value),
            number=int(data.get("number") or 0),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            body_done=bool(data.get("body_done")),
            deadline=datetime.fromisoformat(deadline) if isinstance(deadline, str) else None,
            scope_text=data.get("scope_text"),
            evidence=evidence if isinstance(evidence, bool) else None,
        )
