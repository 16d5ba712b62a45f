"""Photos: one row per SHA-256 (the file is stored once under the media directory), attached
to at most one visit or one assignment (a voice note sent during 整改完成: or one problem), and
who may see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.rules import PHOTO_WINDOW
from storage import people as people_store
from storage import regions as region_store
from storage.models import Assignment, Photo, Problem, Visit
from storage.upsert import insert_ignore

PHOTO = "photo"
VOICE = "voice"  # a voice note: the same row, no thumbnail, width and height 0


async def add_photo(
    session: AsyncSession,
    stored: dict[str, Any],
    *,
    uploaded_by: int,
    now: datetime,
    taken_at: datetime | None,
) -> tuple[int, bool]:
    """Store the photo row once per SHA-256; return (photo id, whether it was new)."""
    new_id = await insert_ignore(
        session,
        Photo,
        {
            "sha256": stored["sha256"],
            "path": stored["path"],
            "thumb_path": stored.get("thumb_path") or None,
            "mime": stored["mime"],
            "kind": stored.get("kind") or PHOTO,
            "size": stored["size"],
            "width": stored["width"],
            "height": stored["height"],
            "taken_at": taken_at,
            "uploaded_by": uploaded_by,
            "created_at": now,
        },
        ["sha256"],
    )
    if new_id is not None:
        return new_id, True
    existing = await session.scalar(sa.select(Photo.id).where(Photo.sha256 == stored["sha256"]))
    assert existing is not None
    return existing, False


@dataclass(frozen=True)
class PhotoDTO:
    id: int
    uploaded_by: int | None
    visit_id: int | None
    assignment_id: int | None
    path: str = ""
    created_at: datetime | None = None
    taken_at: datetime | None = None
    discarded: bool = False
    problem_id: int | None = None
    kind: str = PHOTO

    @property
    def attached(self) -> bool:
        return any(x is not None for x in (self.visit_id, self.assignment_id, self.problem_id))


def _photo(p: Photo) -> PhotoDTO:
    return PhotoDTO(
        p.id, p.uploaded_by, p.visit_id, p.assignment_id, p.path, p.created_at, p.taken_at,
        p.discarded_at is not None, p.problem_id, p.kind,
    )  # fmt: skip


def _loose() -> sa.ColumnElement[bool]:
    """Attached to nothing (no visit, assignment or problem)."""
    return sa.and_(
        Photo.visit_id.is_(None), Photo.assignment_id.is_(None), Photo.problem_id.is_(None)
    )


async def get_photo(session: AsyncSession, photo_id: int) -> PhotoDTO | None:
    p = await session.get(Photo, photo_id)
    return _photo(p) if p else None


async def of_visit(session: AsyncSession, visit_id: int, limit: int = 20) -> list[PhotoDTO]:
    """The photos attached to a visit, in the order they came."""
    rows = await session.scalars(
        sa.select(Photo).where(Photo.visit_id == visit_id).order_by(Photo.id).limit(limit)
    )
    return [_photo(p) for p in rows]


async def move_to_visit(session: AsyncSession, photo_id: int, visit_id: int) -> None:
    await session.execute(sa.update(Photo).where(Photo.id == photo_id).values(visit_id=visit_id))


async def discard(session: AsyncSession, photo_id: int, now: datetime) -> None:
    """Off its visit (if any) and never attached by itself again."""
    await session.execute(
        sa.update(Photo).where(Photo.id == photo_id).values(visit_id=None, discarded_at=now)
    )


async def attach_photos(session: AsyncSession, photo_ids: list[int], visit_id: int) -> int:
    """Attach photos that are not attached to anything yet."""
    if not photo_ids:
        return 0
    result = await session.execute(
        sa.update(Photo)
        .where(Photo.id.in_(photo_ids), _loose())
        .values(visit_id=visit_id, discarded_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)  # a CursorResult for an UPDATE


async def loose_photos(
    session: AsyncSession, uploaded_by: int, now: datetime, window: timedelta = PHOTO_WINDOW
) -> list[int]:
    """This person's unattached photos from the last ``window``."""
    rows = await session.scalars(
        sa.select(Photo.id)
        .where(
            Photo.uploaded_by == uploaded_by,
            Photo.kind == PHOTO,
            _loose(),
            Photo.discarded_at.is_(None),
            Photo.created_at >= now - window,
            Photo.created_at <= now,
        )
        .order_by(Photo.id)
    )
    return list(rows)


@dataclass(frozen=True)
class ShownPhoto:
    """A photo as a page shows it: the file and its thumbnail (relative to the media folder)."""

    id: int
    path: str
    thumb_path: str
    taken_at: datetime | None


async def of_assignment(
    session: AsyncSession, assignment_id: int, limit: int = 30
) -> list[ShownPhoto]:
    """The photos handed in with an assignment, in the order they came."""
    rows = await session.scalars(
        sa.select(Photo)
        .where(
            Photo.assignment_id == assignment_id,
            Photo.kind == PHOTO,
            Photo.discarded_at.is_(None),
        )
        .order_by(Photo.id)
        .limit(limit)
    )
    return [ShownPhoto(p.id, p.path, p.thumb_path or p.path, p.taken_at) for p in rows]


async def only_photos(session: AsyncSession, ids: list[int]) -> list[int]:
    """Those of ``ids`` that are photos (not voice notes)."""
    if not ids:
        return []
    rows = await session.scalars(sa.select(Photo.id).where(Photo.id.in_(ids), Photo.kind == PHOTO))
    return list(rows)


async def voices_of(
    session: AsyncSession,
    *,
    visit_ids: list[int] | None = None,
    assignment_id: int | None = None,
    problem_ids: list[int] | None = None,
    limit: int = 200,
) -> dict[int, tuple[str, ...]]:
    """The voice notes' paths of these visits (by visit id), of these problems (by problem
    id) or of one assignment (under its id), oldest first."""
    owner, where = Photo.assignment_id, Photo.assignment_id == assignment_id
    if visit_ids is not None:
        owner, where = Photo.visit_id, Photo.visit_id.in_(visit_ids)
    elif problem_ids is not None:
        owner, where = Photo.problem_id, Photo.problem_id.in_(problem_ids)
    rows = await session.execute(
        sa.select(owner, Photo.path)
        .where(where, Photo.kind == VOICE, Photo.discarded_at.is_(None))
        .order_by(owner, Photo.id)
        .limit(limit)
    )
    out: dict[int, list[str]] = {}
    for key, path in rows:
        out.setdefault(int(key), []).append(path)
    return {k: tuple(v) for k, v in out.items()}


async def attach_voice_to_problem(session: AsyncSession, photo_id: int, problem_id: int) -> bool:
    """Link a voice note to a problem, unless it is attached to something already (a voice
    note sent twice is linked once); whether it is now the problem's."""
    await session.execute(
        sa.update(Photo)
        .where(Photo.id == photo_id, Photo.kind == VOICE, _loose())
        .values(problem_id=problem_id, discarded_at=None)
    )
    linked = await session.scalar(sa.select(Photo.problem_id).where(Photo.id == photo_id))
    return linked == problem_id


async def voice_count_of_problem(session: AsyncSession, problem_id: int) -> int:
    """How many voice notes the problem has (the chat's reply counts them)."""
    found = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Photo)
        .where(Photo.problem_id == problem_id, Photo.kind == VOICE, Photo.discarded_at.is_(None))
    )
    return int(found or 0)


async def may_view_photo(session: AsyncSession, person_id: int, rel_path: str) -> bool | None:
    """Photos show households and their homes: a person sees the ones they uploaded, and those
    attached to a visit or an assignment in a village within their own region; a deactivated
    person none (a signed ledger link outlives a deactivation). ``None`` when no photo has
    that path."""
    photo = await session.scalar(
        sa.select(Photo).where(sa.or_(Photo.path == rel_path, Photo.thumb_path == rel_path))
    )
    if photo is None:
        return None
    person = await people_store.get(session, person_id)
    if person is None or not person.active:
        return False
    if photo.uploaded_by == person_id:
        return True
    village_id = None
    if photo.visit_id is not None:
        village_id = await session.scalar(
            sa.select(Visit.village_id).where(Visit.id == photo.visit_id)
        )
    elif photo.assignment_id is not None:
        village_id = await session.scalar(
            sa.select(Assignment.village_id).where(Assignment.id == photo.assignment_id)
        )
    elif photo.problem_id is not None:
        village_id = await session.scalar(
            sa.select(Problem.village_id).where(Problem.id == photo.problem_id)
        )
    if village_id is None:
        return False
    return await region_store.contains(session, person.region_id, village_id)
