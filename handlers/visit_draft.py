"""The unsaved visit a guided flow carries from step to step, typed.

It is stored as a JSON dict in the conversation row (storage/conversations.py) so a restart
resumes at the same step; :meth:`VisitDraft.to_dict` writes the same keys the flow always
stored, so a conversation begun before a deploy resumes after it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.checklist import CHECKS, OK, PROBLEM
from services.visits import Location, Report

FLOW = "visit"


class Step(StrEnum):
    PICK = "pick"  # which household
    CHECK = "check"  # the core checks, one by one (buttons)
    PROBLEM_TEXT = "problem_text"  # what the problem of the current check is
    NOTE = "note"
    PHOTOS = "photos"
    LOCATION = "location"
    CONFIRM = "confirm"  # the summary, 确认 or 修改
    DUP = "dup"  # the household has a visit minutes ago: the same one?
    REPLACE = "replace"  # a new 走访 came while this card waited for 确认: save it first?


class Mode(StrEnum):
    NEW = "new"
    AMEND = "amend"  # 修改 of the person's last visit


@dataclass(frozen=True)
class VisitDraft:
    mode: Mode = Mode.NEW
    hh: int | None = None  # household id, once picked
    checks: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    photos: tuple[int, ...] = ()
    msg: str | None = None  # the message that started it
    quick: bool = False  # a one-message report: straight to the summary
    i: int = 0  # index of the core check being asked
    key: str | None = None  # check whose problem text is awaited
    lat: float | None = None
    lon: float | None = None
    flag: str | None = None
    flag_known: bool = False  # flag judged when the location came (household known)
    dup: int | None = None  # the visit it may duplicate
    dup_ok: bool = False  # "not the same visit": save a second one
    visit_id: int | None = None  # the visit being amended
    pending: str | None = None  # a new 走访's arguments, waiting while REPLACE is asked
    unsure: dict[str, str] = field(default_factory=dict)  # check -> words the card asks about

    def but(self, **changes: Any) -> VisitDraft:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": str(self.mode),
            "checks": self.checks,
            "photos": list(self.photos),
            "msg": self.msg,
        }
        optional: dict[str, Any] = {
            "hh": self.hh,
            "note": self.note,
            "quick": self.quick,
            "i": self.i,
            "key": self.key,
            "dup": self.dup,
            "dup_ok": self.dup_ok,
            "visit_id": self.visit_id,
            "pending": self.pending,
            "unsure": self.unsure,
        }
        out.update({k: v for k, v in optional.items() if v})
        if self.lat is not None and self.lon is not None:
            out.update(lat=self.lat, lon=self.lon)
        if self.flag_known:
            out["flag"] = self.flag
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VisitDraft:
        return cls(
            mode=Mode(data.get("mode") or Mode.NEW),
            hh=data.get("hh"),
            checks=dict(data.get("checks") or {}),
            note=data.get("note") or "",
            photos=tuple(data.get("photos") or ()),
            msg=data.get("msg"),
            quick=bool(data.get("quick")),
            i=int(data.get("i") or 0),
            key=data.get("key"),
            lat=data.get("lat"),
            lon=data.get("lon"),
            flag=data.get("flag"),
            flag_known="flag" in data,
            dup=data.get("dup"),
            dup_ok=bool(data.get("dup_ok")),
            visit_id=data.get("visit_id"),
            pending=data.get("pending"),
            unsure=_unsure(data.get("unsure")),
        )

    def report(self) -> Report:
        assert self.hh is not None
        return Report(
            household_id=self.hh,
            checks=self.checks,
            note=self.note or None,
            photos=self.photos,
            lat=self.lat,
            lon=self.lon,
            flag=self.flag,
            flag_known=self.flag_known,
        )

    def answered(self, key: str, answer: str) -> VisitDraft:
        """The card's question on ``key`` answered: problem / ok recorded with the user's
        words, anything else (不记) left not checked."""
        unsure = dict(self.unsure)
        text = unsure.pop(key, "")
        checks = dict(self.checks)
        if answer in (OK, PROBLEM):
            checks[key] = {"status": answer, "text": text}
        return self.but(checks=checks, unsure=unsure)

    def location(self) -> Location | None:
        if self.lat is None or self.lon is None:
            return None
        return Location(self.lat, self.lon, self.flag)


def _unsure(raw: Any) -> dict[str, str]:
    """The stored questions, only of known checks (the row is ours, but stay strict)."""
    if not isinstance(raw, dict):
        return {}
    return {k: str(v) for k, v in raw.items() if k in CHECKS}
