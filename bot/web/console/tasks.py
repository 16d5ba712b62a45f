"""任务: the tasks that reached the person's villages (paged, filtered by status and
township), and one task's villages by status (未读/收到/已提交/已通过/退回/逾期)."""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console.chart import progress_chart
from bot.web.console.render import page, query_id, query_page, render
from core.inputs import int_id
from services import console, console_task_forms, console_tasks
from services.attachments import human_size
from services.console_auth import Current


@page("tasks")
async def task_list(request: web.Request, signed: Current) -> web.StreamResponse:
    status = request.query.get("status", "").strip() or None
    async with request.app[SESSIONMAKER]() as session:
        data = await console_tasks.task_list(
            session,
            signed.person,
            region_id=query_id(request, "region"),
            status=status,
            page=query_page(request),
            now=request.app[CLOCK].now(),
        )
        # The township filter offers the townships of the person's own region.
        towns = await console.township_choices(session, signed.person)
        sender = console_task_forms.may_send(signed.person)
    return render(
        request,
        "tasks.html",
        signed=signed,
        title="任务",
        nav="tasks",
        d=data,
        towns=towns,
        sender=sender,
    )


@page("task")
async def task_view(request: web.Request, signed: Current) -> web.StreamResponse:
    number = int_id(request.match_info["number"]) or 0
    now = request.app[CLOCK].now()
    async with request.app[SESSIONMAKER]() as session:
        data = await console_tasks.task_view(
            session, signed.person, number, page=query_page(request), now=now
        )
        reviewer = await console_task_forms.may_review(session, signed.person, data.task)
        cancel = await console_task_forms.may_cancel(session, signed.person, data.task)
        files = await console_task_forms.attachments_of(session, signed.person, data.task)
    return render(
        request,
        "task.html",
        signed=signed,
        title=data.task.title,
        nav="tasks",
        d=data,
        reviewer=reviewer,
        cancel=cancel,
        files=files,
        human_size=human_size,
        done=T.DONE.get(request.query.get("done", ""), ""),
        chart=progress_chart(
            data.progress,
            data.tally.total,
            data.task.created_at,
            data.task.deadline,
            now,
            request.app[RULES].timezone,
        ),
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/console/tasks", task_list)
    app.router.add_get("/console/tasks/{number}", task_view)
