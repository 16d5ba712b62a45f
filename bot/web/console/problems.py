"""问题清单: the problems of the person's region, and one problem with its before and after
photos and, while it waits for review (待复核), the 复核 forms.

    GET  /console/problems                      filtered by status and village, paged
    GET  /console/problems/{number}             one problem (its public number, 问题 N)
    POST /console/problems/{number}/approve     复核通过
    POST /console/problems/{number}/return      复核退回 (reason; new deadline, 3 days when
                                                left empty)

复核通过 and 复核退回 are the chat's use cases (services.rectify.approve_fix / return_fix, by
number): the same reviewer check, audit and message to the village. Photos are shown through
the console's media route (bot.web.console.review), scope checked on every request.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console.render import page, query_id, query_page, render
from bot.web.console.review import DEFAULT_RETURN_DEADLINE
from bot.web.console.task_forms import parse_deadline
from core.deadlines import DeadlineError
from core.deadlines import parse_deadline as parse_words
from core.errors import Invalid
from core.inputs import int_id
from core.statuses import PROBLEM_ZH
from services import console_problems, rectify
from services.console_auth import Current


def _number(request: web.Request) -> int:
    return int_id(request.match_info["number"]) or 0


@page("problems")
async def problem_list(request: web.Request, signed: Current) -> web.StreamResponse:
    status = request.query.get("status", "").strip()[:20] or None
    async with request.app[SESSIONMAKER]() as session:
        data = await console_problems.problem_list(
            session,
            signed.person,
            region_id=query_id(request, "region"),
            status=status,
            page=query_page(request),
            now=request.app[CLOCK].now(),
        )
    return render(
        request,
        "problems.html",
        signed=signed,
        title="问题清单",
        nav="problems",
        d=data,
        status_zh=PROBLEM_ZH,
    )


async def _page(
    request: web.Request,
    signed: Current,
    *,
    error: str = "",
    reason: str = "",
    deadline: str = "",
    status: int = 200,
) -> web.Response:
    number = _number(request)
    async with request.app[SESSIONMAKER]() as session:
        view = await console_problems.problem_view(
            session, signed.person, number, now=request.app[CLOCK].now()
        )
    return render(
        request,
        "problem.html",
        status=status,
        signed=signed,
        title=f"问题 {number}",
        nav="problems",
        v=view,
        status_zh=PROBLEM_ZH,
        error=error,
        reason=reason,
        deadline=deadline,
        done=T.PROBLEM_DONE.get(request.query.get("done", ""), ""),
    )


@page("problem")
async def problem_view(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _page(request, signed)


def _back(request: web.Request, done: str) -> web.Response:
    where = f"/console/problems/{_number(request)}?done={done}"
    return web.Response(status=303, headers={"Location": where})


@page("problem.approve")
async def approve(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await rectify.approve_fix(
            session,
            signed.person,
            _number(request),
            now=request.app[CLOCK].now(),
            rules=request.app[RULES],
        )
    return _back(request, "approved")


def _deadline(raw: str, now: datetime, request: web.Request) -> datetime:
    rules = request.app[RULES]
    at = parse_deadline(raw, now, rules)
    if at is not None:
        return at
    try:
        return parse_words(DEFAULT_RETURN_DEADLINE, now, rules.timezone)
    except DeadlineError as err:  # pragma: no cover - a fixed phrase that always parses
        raise Invalid(str(err), field="deadline") from err


@page("problem.return")
async def return_(request: web.Request, signed: Current) -> web.StreamResponse:
    data = await request.post()  # read whole: a reason may be longer than form()'s cut
    raw_reason, raw_deadline = data.get("reason", ""), data.get("deadline", "")
    reason = raw_reason.strip() if isinstance(raw_reason, str) else ""
    deadline_text = raw_deadline.strip()[:40] if isinstance(raw_deadline, str) else ""
    now = request.app[CLOCK].now()
    try:
        if not reason:
            raise Invalid(T.FIX_REASON_NEEDED, field="reason")
        if len(reason) > rectify.MAX_REASON:
            raise Invalid(T.REASON_TOO_LONG.format(n=rectify.MAX_REASON), field="reason")
        deadline = _deadline(deadline_text, now, request)
        async with request.app[SESSIONMAKER]() as session, session.begin():
            await rectify.return_fix(
                session,
                signed.person,
                _number(request),
                reason=reason,
                deadline=deadline,
                now=now,
                rules=request.app[RULES],
            )
    except Invalid as err:
        return await _page(
            request,
            signed,
            error=err.message,
            reason=reason[: rectify.MAX_REASON * 2],
            deadline=deadline_text,
            status=400,
        )
    return _back(request, "returned")


def setup(app: web.Application) -> None:
    app.router.add_get("/console/problems", problem_list)
    app.router.add_get("/console/problems/{number}", problem_view)
    app.router.add_post("/console/problems/{number}/approve", approve)
    app.router.add_post("/console/problems/{number}/return", return_)
