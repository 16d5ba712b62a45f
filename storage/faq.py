"""The curated policy FAQ (政策问答) and the questions asked in chat.

FAQ files are YAML lists (data/faq/policy.yaml). :func:`parse_entries` checks a whole file
before anything is written and names the first broken entry, so an import is all or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from core.paths import data_dir
from storage.models import Faq, Question
from storage.upsert import insert_many_ignore

SHIPPED = data_dir() / "faq" / "policy.yaml"
MAX_ENTRIES = 5000
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_QUESTION = 200
MAX_VARIANTS = 30
MAX_ANSWER = 1000
MAX_SOURCE = 300
MAX_TAGS = 10
MAX_TAG = 20
MAX_ASKED = 500  # characters of a chat question kept in the queue
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_FIELDS = {"id", "question", "variants", "answer", "source", "tags", "reviewed"}

# Question.status values.
ANSWERED = "answered"  # the bot answered from the FAQ
SUGGESTED = "suggested"  # the bot offered "did you mean" buttons
PENDING = "pending"  # queued for county staff
STAFF_ANSWERED = "staff_answered"


@dataclass(frozen=True)
class FaqDTO:
    id: str
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    source: str = ""
    tags: tuple[str, ...] = ()
    reviewed_on: date | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "variants": list(self.variants),
            "answer": self.answer,
            "source": self.source,
            "tags": list(self.tags),
        }
        if self.reviewed_on:
            out["reviewed"] = self.reviewed_on.isoformat()
        return out


class FaqFileError(ValueError):
    """A broken FAQ file; the message names the entry (position and id) and what is wrong."""


def _dto(row: Faq) -> FaqDTO:
    return FaqDTO(
        id=row.id,
        question=row.question,
        answer=row.answer,
        variants=tuple(row.variants or ()),
        source=row.source or "",
        tags=tuple(row.tags or ()),
        reviewed_on=row.reviewed_on,
        updated_at=row.updated_at,
    )


# --- files ---------------------------------------------------------------------------------
def _text(raw: dict[str, Any], key: str, limit: int, where: str, required: bool) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FaqFileError(f"{where}: 缺少 {key}")
        return ""
    if not isinstance(value, str):
        raise FaqFileError(f"{where}: {key} 应为文字")
    value = value.strip()
    if len(value) > limit:
        raise FaqFileError(f"{where}: {key} 太长（最多 {limit} 字）")
    return value


def _list(raw: dict[str, Any], key: str, most: int, each: int, where: str) -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FaqFileError(f"{where}: {key} 应为文字列表")
    if len(value) > most:
        raise FaqFileError(f"{where}: {key} 太多（最多 {most} 条）")
    if any(len(v) > each for v in value):
        raise FaqFileError(f"{where}: {key} 中有一条太长（最多 {each} 字）")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _reviewed(raw: dict[str, Any], where: str) -> date | None:
    value = raw.get("reviewed")
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise FaqFileError(f"{where}: reviewed 应为日期，如 2026-11-01") from None


def parse_entries(data: Any) -> list[FaqDTO]:
    """Validate a parsed FAQ file (a list of mappings); raise :class:`FaqFileError` naming the
    first broken entry. Nothing is returned unless every entry is good."""
    if not isinstance(data, list):
        raise FaqFileError("文件内容应为问答条目的列表")
    if len(data) > MAX_ENTRIES:
        raise FaqFileError(f"条目太多（最多 {MAX_ENTRIES} 条）")
    seen: dict[str, int] = {}
    out: list[FaqDTO] = []
    for n, raw in enumerate(data, start=1):
        if not isinstance(raw, dict):
            raise FaqFileError(f"第 {n} 条: 应为键值对")
        ident = raw.get("id")
        where = f"第 {n} 条（id={ident}）" if ident is not None else f"第 {n} 条"
        unknown = set(raw) - _FIELDS
        if unknown:
            raise FaqFileError(f"{where}: 未知字段 {', '.join(sorted(map(str, unknown)))}")
        if not isinstance(ident, str) or not _ID.match(ident):
            raise FaqFileError(f"{where}: id 应为 1-32 位字母、数字、- 或 _")
        if ident in seen:
            raise FaqFileError(f"{where}: id 与第 {seen[ident]} 条重复")
        seen[ident] = n
        out.append(
            FaqDTO(
                id=ident,
                question=_text(raw, "question", MAX_QUESTION, where, True),
                answer=_text(raw, "answer", MAX_ANSWER, where, True),
                variants=_list(raw, "variants", MAX_VARIANTS, MAX_QUESTION, where),
                source=_text(raw, "source", MAX_SOURCE, where, False),
                tags=_list(raw, "tags", MAX_TAGS, MAX_TAG, where),
                reviewed_on=_reviewed(raw, where),
            )
        )
    return out


def read_file(path: Path) -> list[FaqDTO]:
    """Read and validate a YAML (or JSON) FAQ file."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FaqFileError(f"文件太大（最多 {MAX_FILE_BYTES // 1024 // 1024} MB）")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FaqFileError(f"文件无法解析: {exc}") from None
    return parse_entries(data)


def dump_entries(entries: Sequence[FaqDTO]) -> str:
    head = "# 村务助手政策问答库 (exported by `cunbot faq export`)\n"
    body = yaml.safe_dump(
        [e.to_dict() for e in entries], allow_unicode=True, sort_keys=False, width=1000
    )
    return head + body


# --- FAQ rows ------------------------------------------------------------------------------
async def all_entries(session: AsyncSession) -> list[FaqDTO]:
    rows = await session.scalars(sa.select(Faq).order_by(Faq.id))
    return [_dto(r) for r in rows]


async def get(session: AsyncSession, faq_id: str) -> FaqDTO | None:
    row = await session.get(Faq, faq_id)
    return _dto(row) if row else None


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(Faq)) or 0)


async def version(session: AsyncSession) -> tuple[int, str]:
    """A cheap fingerprint of the FAQ table: changes when an entry is added, removed or edited
    (every write sets ``updated_at``). One aggregate query; used before each search."""
    n, latest = (
        await session.execute(sa.select(sa.func.count(), sa.func.max(Faq.updated_at)))
    ).one()
    return int(n or 0), str(latest)


async def upsert_many(
    session: AsyncSession, entries: Sequence[FaqDTO], now: datetime
) -> tuple[int, int]:
    """Add new entries and overwrite existing ones with the same id -> (added, updated)."""
    existing = {
        r.id: r
        for r in await session.scalars(sa.select(Faq).where(Faq.id.in_([e.id for e in entries])))
    }
    added = updated = 0
    for e in entries:
        row = existing.get(e.id)
        if row is None:
            row = Faq(id=e.id)
            session.add(row)
            added += 1
        else:
            updated += 1
        row.question = e.question
        row.variants = list(e.variants)
        row.answer = e.answer
        row.source = e.source
        row.tags = list(e.tags)
        row.reviewed_on = e.reviewed_on
        row.updated_at = now
    await session.flush()
    return added, updated


async def seed(session: AsyncSession, entries: Sequence[FaqDTO], now: datetime) -> int:
    """Insert entries whose id is not taken yet -> how many were new. Safe when two service
    processes start on an empty table at once (the loser inserts nothing, and fails nothing)."""
    rows = [
        {
            "id": e.id,
            "question": e.question,
            "variants": list(e.variants),
            "answer": e.answer,
            "source": e.source,
            "tags": list(e.tags),
            "reviewed_on": e.reviewed_on,
            "updated_at": now,
        }
        for e in entries
    ]
    return await insert_many_ignore(session, Faq, rows, ["id"])


async def add(session: AsyncSession, entry: FaqDTO, now: datetime) -> FaqDTO:
    if await session.get(Faq, entry.id) is not None:
        raise ValueError(f"faq id exists: {entry.id}")
    await upsert_many(session, [entry], now)
    found = await get(session, entry.id)
    assert found is not None
    return found


async def delete(session: AsyncSession, faq_id: str) -> bool:
    result = await session.execute(sa.delete(Faq).where(Faq.id == faq_id))
    return bool(result.rowcount)


# --- questions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class QuestionDTO:
    id: int
    asked_by: int
    county_id: int | None
    text: str
    faq_id: str | None
    score: float | None
    status: str
    feedback: str | None
    answer: str | None
    answered_by: int | None
    answered_at: datetime | None
    created_at: datetime


def _qdto(row: Question) -> QuestionDTO:
    return QuestionDTO(
        id=row.id,
        asked_by=row.asked_by,
        county_id=row.county_id,
        text=row.text,
        faq_id=row.faq_id,
        score=row.score,
        status=row.status,
        feedback=row.feedback,
        answer=row.answer,
        answered_by=row.answered_by,
        answered_at=row.answered_at,
        created_at=row.created_at,
    )


async def record_question(
    session: AsyncSession,
    *,
    asked_by: int,
    county_id: int | None,
    text: str,
    status: str,
    now: datetime,
    faq_id: str | None = None,
    score: float | None = None,
) -> QuestionDTO:
    row = Question(
        asked_by=asked_by,
        county_id=county_id,
        text=text[:MAX_ASKED],
        faq_id=faq_id,
        score=score,
        status=status,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return _qdto(row)


async def get_question(session: AsyncSession, question_id: int) -> QuestionDTO | None:
    row = await session.get(Question, question_id)
    return _qdto(row) if row else None


async def update_question(
    session: AsyncSession, question_id: int, **values: Any
) -> QuestionDTO | None:
    """Set fields of one question (status, faq_id, score, feedback, answer ...)."""
    row = await session.get(Question, question_id)
    if row is None:
        return None
    for key, value in values.items():
        if not hasattr(Question, key) or key in {"id", "asked_by", "created_at"}:
            raise ValueError(f"cannot set question field {key!r}")
        setattr(row, key, value)
    await session.flush()
    return _qdto(row)


async def pending(
    session: AsyncSession, county_id: int, limit: int = 20
) -> tuple[list[QuestionDTO], int]:
    """Questions waiting for this county's staff, oldest first, and how many in all."""
    where = (Question.county_id == county_id, Question.status == PENDING)
    total = await session.scalar(sa.select(sa.func.count()).select_from(Question).where(*where))
    rows = await session.scalars(
        sa.select(Question).where(*where).order_by(Question.created_at, Question.id).limit(limit)
    )
    return [_qdto(r) for r in rows], int(total or 0)


async def answer_question(
    session: AsyncSession, question_id: int, *, answer: str, by: int, now: datetime
) -> QuestionDTO | None:
    return await update_question(
        session,
        question_id,
        answer=answer[:MAX_ANSWER],
        answered_by=by,
        answered_at=now,
        status=STAFF_ANSWERED,
    )
