"""The FAQ file format (data/faq/policy.yaml): YAML lists of entries, read, checked and written.

:func:`parse_entries` checks a whole file before anything is written and names the first broken
entry (position and id, in Chinese, for the person running ``cunbot faq import``), so an import
is all or nothing. No database here: storage.faq keeps the table, this module only turns files
into :class:`storage.faq.FaqDTO` and back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from core.paths import data_dir
from storage.faq import MAX_ANSWER, MAX_QUESTION, FaqDTO

SHIPPED = data_dir() / "faq" / "policy.yaml"
MAX_ENTRIES = 5000
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_VARIANTS = 30
MAX_SOURCE = 300
MAX_TAGS = 10
MAX_TAG = 20
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_FIELDS = {"id", "question", "variants", "answer", "source", "tags", "reviewed", "county_id"}


def valid_id(ident: str) -> bool:
    """Whether ``ident`` is a well-formed entry id (ids from URLs and forms are untrusted)."""
    return bool(_ID.fullmatch(ident))


class FaqFileError(ValueError):
    """A broken FAQ file; the message names the entry (position and id) and what is wrong."""


def entry_dict(entry: FaqDTO) -> dict[str, Any]:
    """One entry as it is written to a file (the fields :func:`parse_entries` reads)."""
    out: dict[str, Any] = {
        "id": entry.id,
        "question": entry.question,
        "variants": list(entry.variants),
        "answer": entry.answer,
        "source": entry.source,
        "tags": list(entry.tags),
    }
    if entry.reviewed_on:
        out["reviewed"] = entry.reviewed_on.isoformat()
    if entry.county_id is not None:
        out["county_id"] = entry.county_id
    return out


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


def _county(raw: dict[str, Any], where: str) -> int | None:
    """A county's own entry (answers that county only); absent: answers everyone."""
    value = raw.get("county_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise FaqFileError(f"{where}: county_id 应为县的编号（正整数）")
    return value


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
                county_id=_county(raw, where),
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
        [entry_dict(e) for e in entries], allow_unicode=True, sort_keys=False, width=1000
    )
    return head + body
