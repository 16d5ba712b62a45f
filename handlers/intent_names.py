"""Finding the households a free-text message names, among those of the sender's village.

    named("今天去了唐勇家，吃水没问题", households) -> ([唐勇], "今天去了家，吃水没问题")

Full head names and codes first (the longest name at a place wins: 高明亮 over 高明); else a
surname with a kinship word (唐家, 何婶, 罗大爷家), which matches every household of that
surname; :func:`near_named` finds a three-character name typed with one character wrong.

A village's index (names, codes, surnames, one-wrong patterns) is built once per registry
content and cached, so a message costs dictionary lookups per character, not a scan of the
village.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from handlers import intent_words as W
from storage.household_search import HouseholdName

_KIN = re.compile(r"老?([\u4e00-\u9fff])(" + "|".join(W.KIN) + ")家?")


@dataclass(frozen=True)
class _Index:
    by_name: dict[str, list[HouseholdName]]
    by_code: dict[str, HouseholdName]  # lower case
    by_surname: dict[str, list[HouseholdName]]
    near: dict[str, list[HouseholdName]]  # 王?女, 王三? -> three-character names
    name_lengths: tuple[int, ...]  # longest first
    code_lengths: tuple[int, ...]


@functools.lru_cache(maxsize=64)
def _build(rows: tuple[tuple[int, str, str], ...]) -> _Index:
    by_name: dict[str, list[HouseholdName]] = {}
    by_code: dict[str, HouseholdName] = {}
    by_surname: dict[str, list[HouseholdName]] = {}
    near: dict[str, list[HouseholdName]] = {}
    for hid, code, name in rows:
        h = HouseholdName(hid, code, name)
        if code:
            by_code[code.lower()] = h
        if not name:
            continue
        by_name.setdefault(name, []).append(h)
        by_surname.setdefault(name[0], []).append(h)
        if len(name) == 3:
            for pattern in (name[0] + "?" + name[2], name[:2] + "?"):
                near.setdefault(pattern, []).append(h)
    return _Index(
        by_name,
        by_code,
        by_surname,
        near,
        tuple(sorted({len(n) for n in by_name}, reverse=True)),
        tuple(sorted({len(c) for c in by_code}, reverse=True)),
    )


def _index(households: Sequence[HouseholdName]) -> _Index:
    return _build(tuple((h.id, h.code, h.head_name) for h in households))


def named(plain: str, households: Sequence[HouseholdName]) -> tuple[list[HouseholdName], str]:
    """The households ``plain`` (simplified text) names and the text without those names."""
    if not households:
        return [], plain
    idx = _index(households)
    low = plain.lower()
    found: dict[int, HouseholdName] = {}
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(plain):
        hit = _code_at(idx, low, i) or _name_at(idx, plain, i)
        if hit is None:
            i += 1
            continue
        length, matches = hit
        found.update((h.id, h) for h in matches)
        spans.append((i, i + length))
        i += length
    if found:
        starts = [0] + [end for _, end in spans]
        ends = [start for start, _ in spans] + [len(plain)]
        rest = "".join(plain[a:b] for a, b in zip(starts, ends, strict=True))
        return list(found.values()), rest
    for m in _KIN.finditer(plain):
        same = idx.by_surname.get(m.group(1))
        if same:
            return list(same), plain[: m.start()] + plain[m.end() :]
    return [], plain


def _code_at(idx: _Index, low: str, i: int) -> tuple[int, list[HouseholdName]] | None:
    for length in idx.code_lengths:
        h = idx.by_code.get(low[i : i + length])
        if h is not None:
            return length, [h]
    return None


def _name_at(idx: _Index, plain: str, i: int) -> tuple[int, list[HouseholdName]] | None:
    for length in idx.name_lengths:
        matches = idx.by_name.get(plain[i : i + length])
        if matches:
            return length, matches
    return None


def near_named(plain: str, households: Sequence[HouseholdName]) -> list[HouseholdName]:
    """Households whose three-character head name ``plain`` has with one character wrong but
    the first (王三汝 for 王三女, a voice-typing slip): never sure, so only ever asked about."""
    if not households:
        return []
    near = _index(households).near
    found: dict[int, HouseholdName] = {}
    for i in range(len(plain) - 2):
        w = plain[i : i + 3]
        for pattern in (w[0] + "?" + w[2], w[:2] + "?"):
            found.update((h.id, h) for h in near.get(pattern, ()) if h.head_name != w)
    return list(found.values())
