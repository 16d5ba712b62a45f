"""导出 in the console: a month's ledgers (走访台账, 问题清单, 覆盖率, 任务完成情况) of a region
within the person's scope, prepared as a background job (services.jobs) and downloaded by the
person who asked for it only.

Who may have which region's ledger is services.reports.ledger_region, the check the chat
command and the old signed links used; the download checks it again, since a role may change
between the request and the download.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.errors import Conflict, DomainError, NotFound
from services import job_texts as T
from services import jobs, reports
from services.console import parse_month
from storage import audit
from storage.jobs import JobDTO
from storage.people import PersonDTO
from storage.regions import RegionDTO
from storage.session import AsyncSession

MONTHS_BACK = 12  # months offered in the form


async def request_export(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    month: str,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[JobDTO, RegionDTO]:
    """A queued export job of ``region_id`` (default: the person's own region), audited as
    ``export.request``."""
    month = parse_month(month, now, tz)
    target = me.region_id if region_id is None else region_id
    region = await reports.ledger_region(session, me, target)
    job = await jobs.submit(
        session,
        me,
        kind=T.EXPORT_KIND,
        region_id=region.id,
        params={"month": month},
        now=now,
        action="export.request",
    )
    return job, region


async def download(session: AsyncSession, me: PersonDTO, job_id: int, *, now: datetime) -> JobDTO:
    """The person's own finished export, its region still in their scope; audited as
    ``export.download``. Another person's job is NotFound like an unknown one."""
    job = await jobs.owned(session, me, job_id)
    if job.kind != T.EXPORT_KIND:
        raise NotFound(T.NO_SUCH_JOB)
    await reports.ledger_region(session, me, job.region_id)
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="export.download",
        obj=f"job:{job.id}",
        detail={"region": job.region_id, **job.params},
    )
    return job


def not_ready(job: JobDTO) -> DomainError:
    """Why a job has no file to download: still being made (409), or failed or gone (404)."""
    return Conflict(T.NOT_READY) if job.active else NotFound(T.FILE_GONE)


def months(now: datetime, tz: ZoneInfo, back: int = MONTHS_BACK) -> list[str]:
    """This month and the ``back - 1`` before it, newest first."""
    local = now.astimezone(tz)
    year, mon = local.year, local.month
    out = []
    for _ in range(back):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return out
