"""Which villages a task goes to: a scope (``{"county": true}`` | ``{"townships": [..]}`` |
``{"villages": [..]}``, names or ids) resolved against the sender's own county. An unknown
name is refused with the names that come close, so the sender can correct it in one go. A
township's sender naming a township or village of the county outside their own township is
refused (``Refused``: audited by every entry point), saying they may only send to their own."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import Invalid, Refused
from services import task_texts as T
from storage import task_queries
from storage.session import AsyncSession

Village = tuple[int, str, int, str]  # village id, village name, township id, township name


def near_names(name: str, candidates: Sequence[str], limit: int = 5) -> list[str]:
    close = difflib.get_close_matches(name, candidates, n=limit, cutoff=0.3)
    contains = [c for c in candidates if name and (name in c or c in name) and c not in close]
    shared = [c for c in candidates if set(name) & set(c) and c not in close and c not in contains]
    return (close + contains + shared)[:limit]


def _unknown(template: str, hint: str, key: str, near: list[str]) -> Invalid:
    shown = hint.format(names="、".join(near)) if near else ""
    return Invalid(template.format(name=key, hint=shown), field="scope", near=near)


def _townships(rows: list[Village], names: Sequence[Any]) -> list[int]:
    towns = {r[3]: r[2] for r in rows} | {str(r[2]): r[2] for r in rows}
    chosen: list[int] = []
    for name in names:
        key = str(name).strip()
        if key not in towns:
            near = near_names(key, sorted({r[3] for r in rows}))
            raise _unknown(T.UNKNOWN_TOWNSHIP, T.UNKNOWN_TOWNSHIP_HINT, key, near)
        chosen += [r[0] for r in rows if r[2] == towns[key]]
    return chosen


def _village_keys(rows: list[Village]) -> dict[str, list[int]]:
    by_name: dict[str, list[int]] = {}
    for r in rows:
        by_name.setdefault(r[1], []).append(r[0])
        by_name.setdefault(f"{r[3]}{r[1]}", []).append(r[0])
        by_name.setdefault(str(r[0]), []).append(r[0])
    return by_name


def _village_key(name: Any) -> str:
    return str(name).strip().replace("/", "")


def _refuse_outside(county: list[Village], own: list[Village], scope: Mapping[str, Any]) -> None:
    """A township's sender naming a place of the county outside their township."""
    own_towns = {r[3] for r in own} | {str(r[2]) for r in own}
    county_towns = {r[3] for r in county} | {str(r[2]) for r in county}
    for name in scope.get("townships") or ():
        key = str(name).strip()
        if key in county_towns and key not in own_towns:
            raise Refused(T.OUTSIDE_TOWNSHIP.format(name=key, town=own[0][3]), field="scope")
    own_villages, county_villages = _village_keys(own), _village_keys(county)
    for name in scope.get("villages") or ():
        key = _village_key(name)
        if key in county_villages and key not in own_villages:
            raise Refused(T.OUTSIDE_TOWNSHIP.format(name=key, town=own[0][3]), field="scope")


def _villages(rows: list[Village], names: Sequence[Any]) -> list[int]:
    by_name = _village_keys(rows)
    chosen: list[int] = []
    for name in names:
        key = _village_key(name)
        if key not in by_name:
            near = near_names(key, sorted({r[1] for r in rows}))
            raise _unknown(T.UNKNOWN_VILLAGE, T.UNKNOWN_VILLAGE_HINT, key, near)
        if len(by_name[key]) > 1:
            raise Invalid(T.AMBIGUOUS_VILLAGE.format(n=len(by_name[key]), name=key), field="scope")
        chosen += by_name[key]
    return chosen


async def resolve_scope(
    session: AsyncSession,
    county_id: int,
    scope: Mapping[str, Any],
    *,
    township_id: int | None = None,
) -> list[int]:
    """The village ids ``scope`` names within the county (within ``township_id``, for a
    township's sender: ``全县`` is then the whole township), in order, each once."""
    rows = await task_queries.county_villages(session, county_id)
    if township_id is not None:
        county, rows = rows, [r for r in rows if r[2] == township_id]
        if rows:
            _refuse_outside(county, rows, scope)
    if not rows:
        raise Invalid(T.NO_VILLAGES_IN_COUNTY, field="scope")
    if scope.get("county") or not (scope.get("townships") or scope.get("villages")):
        return [r[0] for r in rows]
    chosen: list[int] = []
    if scope.get("townships"):
        chosen += _townships(rows, scope["townships"])
    if scope.get("villages"):
        chosen += _villages(rows, scope["villages"])
    return list(dict.fromkeys(chosen))
