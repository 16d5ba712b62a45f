"""Background jobs (exports, registry imports): one row each, written by the process that runs
the job and read by any process that shows it.

A job is ``queued`` when created, ``running`` once its process starts it, then ``done`` or
``failed``. The running process renews ``heartbeat_at`` (with the progress) every few seconds;
a queued or running job whose heartbeat is older than the stale limit belonged to a process that
died, and :func:`fail_stale` marks it failed. Finished jobs past their keeping time are listed by
:func:`expired` so the caller can delete their files, then the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Job


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class JobDTO:
    id: int
    kind: str
    person_id: int
    region_id: int
    status: str
    done: int
    total: int
    error: str | None
    result_path: str | None
    result_name: str | None
    created_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    params: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def share(self) -> float:
        """How far it got, 0..1 (1 once done)."""
        if self.status == JobStatus.DONE:
            return 1.0
        return min(self.done / self.total, 1.0) if self.total > 0 else 0.0


def job_dto(j: Job) -> JobDTO:
    return JobDTO(
        j.id,
        j.kind,
        j.person_id,
        j.region_id,
        j.status,
        j.done,
        j.total,
        j.error,
        j.result_path,
        j.result_name,
        j.created_at,
        j.heartbeat_at,
        j.finished_at,
        dict(j.params or {}),
        dict(j.summary or {}),
    )


async def create(
    session: AsyncSession,
    *,
    kind: str,
    person_id: int,
    region_id: int,
    params: dict[str, Any],
    now: datetime,
    result_path: str | None = None,
) -> JobDTO:
    """A queued job; ``result_path`` may name an input file to delete with the job."""
    job = Job(
        kind=kind,
        person_id=person_id,
        region_id=region_id,
        params=params,
        status=JobStatus.QUEUED,
        done=0,
        total=0,
        summary={},
        result_path=result_path,
        created_at=now,
        heartbeat_at=now,
    )
    session.add(job)
    await session.flush()
    return job_dto(job)


async def get(session: AsyncSession, job_id: int) -> JobDTO | None:
    job = await session.get(Job, job_id)
    return job_dto(job) if job else None


async def count_active(session: AsyncSession, person_id: int) -> int:
    n = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Job)
        .where(Job.person_id == person_id, Job.status.in_(ACTIVE))
    )
    return int(n or 0)


async def recent(session: AsyncSession, person_id: int, kind: str, limit: int) -> list[JobDTO]:
    rows = await session.scalars(
        sa.select(Job)
        .where(Job.person_id == person_id, Job.kind == kind)
        .order_by(Job.id.desc())
        .limit(limit)
    )
    return [job_dto(j) for j in rows]


async def start(session: AsyncSession, job_id: int, now: datetime) -> bool:
    """Queued -> running; False when it is no longer queued (e.g. marked failed as stale)."""
    result = await session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(status=JobStatus.RUNNING, heartbeat_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def beat(session: AsyncSession, progress: dict[int, tuple[int, int]], now: datetime) -> None:
    """Renew the heartbeat of running jobs and write their progress (job id -> done, total)."""
    for job_id, (done, total) in progress.items():
        await session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.status.in_(ACTIVE))
            .values(done=done, total=total, heartbeat_at=now)
        )


async def finish(
    session: AsyncSession,
    job_id: int,
    now: datetime,
    *,
    result_path: str | None,
    result_name: str | None,
    summary: dict[str, Any],
) -> None:
    await session.execute(
        sa.update(Job)
        .where(Job.id == job_id)
        .values(
            status=JobStatus.DONE,
            done=Job.total,
            result_path=result_path,
            result_name=result_name,
            summary=summary,
            heartbeat_at=now,
            finished_at=now,
        )
    )


async def fail(
    session: AsyncSession,
    job_id: int,
    now: datetime,
    error: str,
    summary: dict[str, Any] | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": JobStatus.FAILED,
        "error": error,
        "heartbeat_at": now,
        "finished_at": now,
    }
    if summary is not None:
        values["summary"] = summary
    await session.execute(
        sa.update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE)).values(**values)
    )


async def fail_stale(session: AsyncSession, before: datetime, now: datetime, error: str) -> int:
    """Mark failed every queued or running job whose heartbeat is older than ``before``."""
    result = await session.execute(
        sa.update(Job)
        .where(Job.status.in_(ACTIVE), Job.heartbeat_at < before)
        .values(status=JobStatus.FAILED, error=error, finished_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def expired(session: AsyncSession, before: datetime, limit: int = 500) -> list[JobDTO]:
    """Finished jobs that ended before ``before``, oldest first."""
    rows = await session.scalars(
        sa.select(Job)
        .where(Job.status.not_in(ACTIVE), Job.finished_at < before)
        .order_by(Job.id)
        .limit(limit)
    )
    return [job_dto(j) for j in rows]


async def delete(session: AsyncSession, job_ids: Sequence[int]) -> None:
    if job_ids:
        await session.execute(sa.delete(Job).where(Job.id.in_(list(job_ids))))
