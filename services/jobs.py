"""Background jobs started from the console (an export, a registry import), run in the app
process and followed from any process through their row (storage.jobs).

:func:`submit` checks the person's limit of unfinished jobs, writes the queued row and its
audit row in the caller's transaction; after the commit the entry point hands the job and its
work to the process's :class:`JobRunner`. The runner starts it (at most ``concurrency`` at a
time per process; the others stay queued), and every ``beat_every`` seconds writes the
progress of its jobs together with their heartbeat, so a page served by another process shows
the same bar. A job whose heartbeat stops (its process died) is marked failed by whichever
process sweeps next, at start-up and then every minute; finished jobs are deleted with their
result file after ``keep``.

Work is a coroutine ``work(job, progress) -> Outcome``; CPU and file work inside it belongs in
``asyncio.to_thread``, and ``progress(done, total)`` may be called from that thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.clock import Clock
from core.errors import Conflict, DomainError, NotFound
from services import job_texts as T
from storage import audit, jobs
from storage.jobs import JobDTO
from storage.people import PersonDTO
from storage.session import AsyncSession, Sessionmaker

log = logging.getLogger(__name__)

MAX_ACTIVE = 2  # unfinished jobs per person
KEEP = timedelta(hours=24)  # a finished job and its file, then both are deleted
STALE = timedelta(minutes=5)  # no heartbeat for this long: its process is gone
BEAT_EVERY = 2.0  # seconds between progress and heartbeat writes
SWEEP_EVERY = 60.0  # seconds between sweeps for stale and expired jobs
CONCURRENCY = 2  # jobs one process runs at once


class JobFailed(DomainError):
    """Raised by a job's work: it ends failed with this Chinese message (and summary)."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class Outcome:
    result_path: str | None = None  # a file name inside the runner's results folder
    result_name: str | None = None  # the name the download is given
    summary: dict[str, Any] = field(default_factory=dict)


class Progress:
    """The latest (done, total) of one job; set from any thread, written by the runner."""

    def __init__(self) -> None:
        self.value = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        self.value = (done, total)  # one tuple assignment: atomic under the GIL


Work = Callable[[JobDTO, Progress], Awaitable[Outcome]]


async def submit(
    session: AsyncSession,
    me: PersonDTO,
    *,
    kind: str,
    region_id: int,
    params: dict[str, Any],
    now: datetime,
    action: str,
    max_active: int = MAX_ACTIVE,
    file: str | None = None,
) -> JobDTO:
    """A queued job for ``me``, audited as ``action``; refused past ``max_active`` unfinished
    ones. The caller has checked role and scope for ``region_id``. ``file``: an input file in
    the results folder, deleted with the job if its work does not delete it first."""
    if await jobs.count_active(session, me.id) >= max_active:
        raise Conflict(T.TOO_MANY.format(n=max_active))
    job = await jobs.create(
        session,
        kind=kind,
        person_id=me.id,
        region_id=region_id,
        params=params,
        now=now,
        result_path=file,
    )
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action=action,
        obj=f"job:{job.id}",
        detail={"kind": kind, "region": region_id, **params},
    )
    return job


async def owned(session: AsyncSession, me: PersonDTO, job_id: int) -> JobDTO:
    """Job ``job_id`` if ``me`` started it; anybody else's, or none, is NotFound alike."""
    job = await jobs.get(session, job_id) if job_id else None
    if job is None or job.person_id != me.id:
        raise NotFound(T.NO_SUCH_JOB)
    return job


async def recent(session: AsyncSession, me: PersonDTO, kind: str, limit: int = 10) -> list[JobDTO]:
    return await jobs.recent(session, me.id, kind, limit)


def result_file(results_dir: Path, job: JobDTO) -> Path | None:
    """The result file of a finished job, if it is still there."""
    name = job.result_path
    if job.status != jobs.JobStatus.DONE or not name or "/" in name or name.startswith("."):
        return None
    path = results_dir / name
    return path if path.is_file() else None


class JobRunner:
    """Runs this process's jobs in the background and keeps their rows current."""

    def __init__(
        self,
        sessionmaker: Sessionmaker,
        clock: Clock,
        results_dir: Path,
        *,
        concurrency: int = CONCURRENCY,
        beat_every: float = BEAT_EVERY,
        sweep_every: float = SWEEP_EVERY,
        stale: timedelta = STALE,
        keep: timedelta = KEEP,
    ) -> None:
        self.sm = sessionmaker
        self.clock = clock
        self.results_dir = results_dir
        self.beat_every = beat_every
        self.sweep_every = sweep_every
        self.stale = stale
        self.keep = keep
        self._slots = asyncio.Semaphore(concurrency)
        self._mine: dict[int, Progress] = {}  # queued or running here
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, job: JobDTO, work: Work) -> asyncio.Task[None]:
        """Run ``work`` for a committed, queued job in the background."""
        self._mine[job.id] = Progress()
        task = asyncio.create_task(self._run(job, work), name=f"job-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, job: JobDTO, work: Work) -> None:
        progress = self._mine[job.id]
        try:
            async with self._slots:
                async with self.sm() as s, s.begin():
                    if not await jobs.start(s, job.id, self.clock.now()):
                        return  # swept as stale meanwhile
                await self._work(job, work, progress)
        except asyncio.CancelledError:
            # Shutting down: the job ends failed now rather than when its heartbeat goes stale.
            await asyncio.shield(self._end(job.id, T.INTERRUPTED, None))
            raise
        finally:
            self._mine.pop(job.id, None)

    async def _work(self, job: JobDTO, work: Work, progress: Progress) -> None:
        try:
            outcome = await work(job, progress)
        except JobFailed as err:
            await self._end(job.id, err.message, err.summary)
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
            await self._end(job.id, T.FAILED, None)
        else:
            await self.beat()
            async with self.sm() as s, s.begin():
                await jobs.finish(
                    s,
                    job.id,
                    self.clock.now(),
                    result_path=outcome.result_path,
                    result_name=outcome.result_name,
                    summary=outcome.summary,
                )
            log.info("job %s (%s) done", job.id, job.kind)

    async def _end(self, job_id: int, error: str, summary: dict[str, Any] | None) -> None:
        async with self.sm() as s, s.begin():
            await jobs.fail(s, job_id, self.clock.now(), error, summary)

    async def beat(self) -> None:
        """Write the progress and heartbeat of every job of this process."""
        if not self._mine:
            return
        progress = {job_id: p.value for job_id, p in list(self._mine.items())}
        async with self.sm() as s, s.begin():
            await jobs.beat(s, progress, self.clock.now())

    async def sweep(self) -> None:
        """Fail the jobs whose process died; delete finished jobs past their keeping time."""
        now = self.clock.now()
        async with self.sm() as s, s.begin():
            failed = await jobs.fail_stale(s, now - self.stale, now, T.INTERRUPTED)
            old = await jobs.expired(s, now - self.keep)
            for job in old:
                if job.result_path and "/" not in job.result_path:
                    await asyncio.to_thread(
                        (self.results_dir / job.result_path).unlink, missing_ok=True
                    )
            await jobs.delete(s, [j.id for j in old])
        if failed or old:
            log.info("jobs swept: %s marked failed, %s expired", failed, len(old))

    async def run_forever(self) -> None:
        """Heartbeats every ``beat_every`` s, sweeps every ``sweep_every`` s (the caller sweeps
        once at start-up)."""
        loop = asyncio.get_running_loop()
        last_sweep = loop.time()
        while True:
            try:
                if loop.time() - last_sweep >= self.sweep_every:
                    last_sweep = loop.time()
                    await self.sweep()
                await self.beat()
            except Exception:
                log.exception("job heartbeat or sweep failed; trying again")
            await asyncio.sleep(self.beat_every)

    async def stop(self) -> None:
        """Cancel the jobs still running here (each is marked failed) and wait for them."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
