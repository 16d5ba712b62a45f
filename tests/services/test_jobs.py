"""services.jobs on a real database: a job's progress is in its row for any process to read,
it ends done or failed (never left running), stale jobs of a dead process are marked failed,
finished ones are deleted with their file after the keeping time, and each person has a
limit of unfinished jobs."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import Conflict, NotFound
from services import job_texts as T
from services import jobs as service
from services.jobs import JobFailed, JobRunner, Outcome, Progress
from storage import jobs
from storage.jobs import JobDTO
from tests.factories import make_world


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


async def _submit(sm, person, clock) -> JobDTO:
    async with sm() as s, s.begin():
        return await service.submit(
            s,
            person,
            kind="export",
            region_id=person.region_id,
            params={"month": "2026-11"},
            now=clock.now(),
            action="export.request",
        )


async def _get(sm, job_id: int) -> JobDTO:
    async with sm() as s:
        job = await jobs.get(s, job_id)
    assert job is not None
    return job


async def test_progress_is_written_to_the_row_and_the_job_ends_done(
    sessionmaker, clock, world, tmp_path
):
    runner = JobRunner(sessionmaker, clock, tmp_path)
    job = await _submit(sessionmaker, world.people["county0"], clock)
    halfway, go_on = asyncio.Event(), asyncio.Event()

    async def work(_job: JobDTO, progress: Progress) -> Outcome:
        await asyncio.to_thread(progress, 40, 100)  # reported from a worker thread
        halfway.set()
        await go_on.wait()
        progress(100, 100)
        return Outcome("result.xlsx", "台账.xlsx", {"visits": 100})

    task = runner.spawn(job, work)
    await halfway.wait()
    await runner.beat()
    seen = await _get(sessionmaker, job.id)
    assert (seen.status, seen.done, seen.total) == ("running", 40, 100)
    assert seen.share == pytest.approx(0.4)
    go_on.set()
    await task
    done = await _get(sessionmaker, job.id)
    assert done.status == "done" and done.done == 100 and done.finished_at is not None
    assert done.result_name == "台账.xlsx" and done.summary == {"visits": 100}


async def test_work_that_fails_ends_failed_with_a_chinese_message(
    sessionmaker, clock, world, tmp_path
):
    runner = JobRunner(sessionmaker, clock, tmp_path)
    crash = await _submit(sessionmaker, world.people["county0"], clock)
    refused = await _submit(sessionmaker, world.people["county0"], clock)

    async def boom(_job: JobDTO, _p: Progress) -> Outcome:
        raise RuntimeError("disk full")

    async def rows_wrong(_job: JobDTO, _p: Progress) -> Outcome:
        raise JobFailed("导入失败", {"error_count": 2})

    await runner.spawn(crash, boom)
    await runner.spawn(refused, rows_wrong)
    crashed, failed = await _get(sessionmaker, crash.id), await _get(sessionmaker, refused.id)
    assert (crashed.status, crashed.error) == ("failed", T.FAILED)
    assert (failed.status, failed.error, failed.summary) == (
        "failed",
        "导入失败",
        {"error_count": 2},
    )


async def test_stopping_the_process_marks_its_running_jobs_failed(
    sessionmaker, clock, world, tmp_path
):
    runner = JobRunner(sessionmaker, clock, tmp_path)
    job = await _submit(sessionmaker, world.people["county0"], clock)
    started = asyncio.Event()

    async def forever(_job: JobDTO, _p: Progress) -> Outcome:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("never")

    runner.spawn(job, forever)
    await started.wait()
    await runner.stop()
    ended = await _get(sessionmaker, job.id)
    assert (ended.status, ended.error) == ("failed", T.INTERRUPTED)


async def test_sweep_fails_stale_jobs_and_deletes_expired_ones_with_their_file(
    sessionmaker, clock, world, tmp_path
):
    me = world.people["county0"]
    runner = JobRunner(sessionmaker, clock, tmp_path)
    stale = await _submit(sessionmaker, me, clock)
    async with sessionmaker() as s, s.begin():
        await jobs.start(s, stale.id, clock.now())
        old = await jobs.create(
            s, kind="export", person_id=me.id, region_id=me.region_id, params={}, now=clock.now()
        )
        await jobs.finish(
            s, old.id, clock.now(), result_path="old.xlsx", result_name="x", summary={}
        )
    (tmp_path / "old.xlsx").write_bytes(b"PK")
    clock.advance(minutes=10)  # the stale job's process stopped beating 10 minutes ago
    fresh = await _submit(sessionmaker, me, clock)
    await runner.sweep()
    assert (await _get(sessionmaker, stale.id)).status == "failed"
    assert (await _get(sessionmaker, stale.id)).error == T.INTERRUPTED
    assert (await _get(sessionmaker, fresh.id)).status == "queued"
    assert (await _get(sessionmaker, old.id)).status == "done"  # kept for 24 hours
    clock.advance(hours=24)
    await runner.sweep()
    async with sessionmaker() as s:
        assert await jobs.get(s, old.id) is None
    assert not (tmp_path / "old.xlsx").exists()


async def test_a_person_has_a_limit_of_unfinished_jobs_and_sees_only_their_own(
    sessionmaker, clock, world
):
    me, other = world.people["county0"], world.people["county1"]
    first = await _submit(sessionmaker, me, clock)
    await _submit(sessionmaker, me, clock)
    with pytest.raises(Conflict):
        await _submit(sessionmaker, me, clock)
    await _submit(sessionmaker, other, clock)  # the limit is per person
    async with sessionmaker() as s, s.begin():
        await jobs.fail(s, first.id, clock.now(), "x")
    await _submit(sessionmaker, me, clock)  # a finished job frees its place
    async with sessionmaker() as s:
        assert (await service.owned(s, me, first.id)).id == first.id
        with pytest.raises(NotFound):
            await service.owned(s, other, first.id)
        with pytest.raises(NotFound):
            await service.owned(s, me, 999_999)
