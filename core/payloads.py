"""Button payloads, typed: one class per button, packed and unpacked here and only here.

A payload is ``prefix:field:field`` (``task:ack:17``). It comes back from the client, so it is
untrusted: :func:`unpack` returns ``None`` for anything malformed (unknown prefix, wrong field
count, a non-number where a number goes, an id out of range), and the use case that acts on a
well-formed one still checks that the id is the person's to act on.

Telegram drops a button whose payload is over 64 bytes, so :meth:`Payload.pack` refuses to
build one (a programming error, raised where the button is made, not when it is pressed).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from core.messages import Button

MAX_BYTES = 64
MAX_ID = 2**31 - 1  # ids are 32-bit in both databases
_MAX_STR = 32  # FAQ ids are up to 32 characters (services.faq_file)

_BY_PREFIX: dict[str, type[Payload]] = {}


@dataclass(frozen=True)
class Payload:
    PREFIX: ClassVar[str] = ""

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix:
            raise TypeError(f"{cls.__name__} needs a prefix")
        if prefix in _BY_PREFIX:
            raise TypeError(f"payload prefix registered twice: {prefix}")
        cls.PREFIX = prefix
        _BY_PREFIX[prefix] = cls

    def pack(self) -> str:
        parts = [self.PREFIX]
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and (":" in value or not value or len(value) > _MAX_STR):
                raise ValueError(f"{type(self).__name__}.{f.name}: bad value {value!r}")
            parts.append(str(value))
        packed = ":".join(parts)
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"payload over {MAX_BYTES} bytes: {packed!r}")
        return packed

    def button(self, label: str) -> Button:
        return Button(label, self.pack())

    @classmethod
    def parse(cls, raw: str) -> Self | None:
        """This class's payload from ``raw``, or ``None`` (another button, or malformed)."""
        found = unpack(raw)
        return found if isinstance(found, cls) else None


def _field_value(kind: str, raw: str) -> int | str | None:
    if kind == "int":
        if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
            return None
        value = int(raw)
        return value if 0 < value <= MAX_ID else None
    if not raw or len(raw) > _MAX_STR or not raw.isascii():
        return None
    return raw


def unpack(raw: str) -> Payload | None:
    """The payload object for ``raw``, or ``None`` when it is not one we built."""
    if not isinstance(raw, str) or len(raw) > MAX_BYTES * 2:
        return None
    head = raw
    parts: list[str] = []
    while head not in _BY_PREFIX:
        head, sep, last = head.rpartition(":")
        if not sep:
            return None
        parts.insert(0, last)
    cls = _BY_PREFIX[head]
    fields = dataclasses.fields(cls)
    if len(parts) != len(fields):
        return None
    values: dict[str, Any] = {}
    for f, part in zip(fields, parts, strict=True):
        value = _field_value(str(f.type), part)
        if value is None:
            return None
        values[f.name] = value
    return cls(**values)


def prefixes() -> tuple[str, ...]:
    return tuple(_BY_PREFIX)


# --- tasks: an item named by its public number (core.numbers), never by an assignment id --
# Buttons made before public numbers carried assignment ids (``task:ack:17``, ``review:ok:17``,
# ``tcancel:yes:5``). Those prefixes are gone: such a button unpacks to ``None`` and gets the
# stale-button reply, instead of acting on whatever now has that number.
@dataclass(frozen=True)
class ItemAck(Payload, prefix="item:ack"):
    series: str  # core.numbers.CODE_OF: "t" a task or notice, "p" a problem's rectification
    number: int


@dataclass(frozen=True)
class ItemDone(Payload, prefix="item:done"):
    series: str
    number: int


@dataclass(frozen=True)
class ItemSend(Payload, prefix="item:send"):
    series: str
    number: int


@dataclass(frozen=True)
class ReviewPass(Payload, prefix="rv:ok"):
    """通过: task ``number`` for ``village`` (a region id)."""

    number: int
    village: int


@dataclass(frozen=True)
class ReviewBack(Payload, prefix="rv:back"):
    """退回 (the reason waits in the reviewer's conversation state): task ``number`` for
    ``village``."""

    number: int
    village: int


# --- visits ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class VisitConfirm(Payload, prefix="visit:confirm"):
    pass


@dataclass(frozen=True)
class VisitEdit(Payload, prefix="visit:edit"):
    pass


@dataclass(frozen=True)
class VisitCheck(Payload, prefix="visit:chk"):
    check: str  # a check key of core/visit checks, e.g. "water"
    answer: str  # ok | problem | skip


@dataclass(frozen=True)
class VisitSkip(Payload, prefix="visit:skip"):
    pass


@dataclass(frozen=True)
class VisitNext(Payload, prefix="visit:next"):
    pass


@dataclass(frozen=True)
class VisitHousehold(Payload, prefix="visit:hh"):
    household: int


@dataclass(frozen=True)
class VisitDuplicate(Payload, prefix="visit:dup"):
    choice: str  # same | new


@dataclass(frozen=True)
class VisitPhoto(Payload, prefix="visit:ph"):
    photo: int
    household: int


@dataclass(frozen=True)
class VisitRevoke(Payload, prefix="visit:revoke"):
    visit: int


# --- visit progress (pages of 未走访) -------------------------------------------------------
@dataclass(frozen=True)
class DuePage(Payload, prefix="due"):
    page: int


@dataclass(frozen=True)
class DueVillagePage(Payload, prefix="duev"):
    village: int
    page: int


# --- FAQ -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FaqUseful(Payload, prefix="faq:up"):
    question: int


@dataclass(frozen=True)
class FaqNotUseful(Payload, prefix="faq:down"):
    question: int


@dataclass(frozen=True)
class FaqPick(Payload, prefix="faq:pick"):
    question: int
    faq: str  # an FAQ id, e.g. "F001" or "Q12"


@dataclass(frozen=True)
class FaqNone(Payload, prefix="faq:none"):
    question: int


# --- sessions (解绑 / logout) ----------------------------------------------------------------
@dataclass(frozen=True)
class LogoutConfirm(Payload, prefix="logout:yes"):
    pass


@dataclass(frozen=True)
class LogoutCancel(Payload, prefix="logout:no"):
    pass


# --- a new 走访 while a visit card waits for 确认 (handlers/visit_report.py) --------------------
@dataclass(frozen=True)
class VisitReplace(Payload, prefix="visit:replace"):
    choice: str  # save | drop


# --- 撤销任务 (confirm first): the task by its number ---------------------------------------
@dataclass(frozen=True)
class WithdrawConfirm(Payload, prefix="withdraw:yes"):
    number: int


@dataclass(frozen=True)
class WithdrawKeep(Payload, prefix="withdraw:no"):
    number: int


# --- 发任务 / 发通知: the guided draft and its preview (``draft`` is the draft's number in the
# sender's conversation state: a press on an older or finished draft is stale) -----------------
@dataclass(frozen=True)
class BroadcastSend(Payload, prefix="bcast:send"):
    draft: int


@dataclass(frozen=True)
class BroadcastEdit(Payload, prefix="bcast:edit"):
    draft: int


@dataclass(frozen=True)
class BroadcastDrop(Payload, prefix="bcast:drop"):
    draft: int


@dataclass(frozen=True)
class BroadcastField(Payload, prefix="bcast:field"):
    draft: int
    field: str  # title | body | deadline | scope | evidence


@dataclass(frozen=True)
class BroadcastEvidence(Payload, prefix="bcast:ev"):
    draft: int
    answer: str  # yes | no


@dataclass(frozen=True)
class BroadcastSkip(Payload, prefix="bcast:skip"):
    draft: int


# --- evidence on the right household (照片) -----------------------------------------------------
@dataclass(frozen=True)
class PhotoDrop(Payload, prefix="photo:drop"):
    photo: int  # 不用了: the loose photo is not attached to anything


@dataclass(frozen=True)
class PhotoMove(Payload, prefix="photo:move"):
    photo: int  # which visit to move it to? (asks)


@dataclass(frozen=True)
class PhotoMoveTo(Payload, prefix="photo:to"):
    photo: int
    visit: int


@dataclass(frozen=True)
class PhotoRemove(Payload, prefix="photo:rm"):
    photo: int  # asks to confirm


@dataclass(frozen=True)
class PhotoRemoveConfirm(Payload, prefix="photo:rmok"):
    photo: int


@dataclass(frozen=True)
class PhotoKeep(Payload, prefix="photo:keep"):
    photo: int


# --- rectification review (复核通过 / 复核退回) -------------------------------------------------
@dataclass(frozen=True)
class RectifyApprove(Payload, prefix="rfix:ok"):
    number: int  # the problem's public number (问题 N)


@dataclass(frozen=True)
class RectifyReturn(Payload, prefix="rfix:back"):
    number: int  # the problem's public number; asks for the reason


# --- free text the bot was unsure about, or could not place (handlers/intent.py) -------------
@dataclass(frozen=True)
class IntentAnswer(Payload, prefix="intent:ans"):
    ask: int  # the number of the question, kept in the conversation state until answered
    choice: str  # yes | no


@dataclass(frozen=True)
class IntentPick(Payload, prefix="intent:pick"):
    ask: int
    household: int  # one of the households the question offered


@dataclass(frozen=True)
class IntentVisit(Payload, prefix="intent:visit"):
    household: int  # start the guided visit of this household (after a bare name)


@dataclass(frozen=True)
class IntentCommand(Payload, prefix="intent:cmd"):
    what: str  # a key of handlers.intent's command buttons (tasks, problems, ...)
