"""Review one village's submission (审核), and the console's photo route.

    GET  /console/tasks/{number}/villages/{village_id}          text and photos side by side
    POST /console/tasks/{number}/villages/{village_id}/approve  通过
    POST /console/tasks/{number}/villages/{village_id}/return   退回 (reason; new deadline,
                                                                 3 days when left empty)
    GET  /console/media/{path}                                  a photo or its thumbnail

通过 and 退回 are the chat's use cases (services.task_review.approve / return_, by task number
and village id): the same reviewer check, the same audit, the same message to the village.
The photo route applies the chat's /media check (storage.photos.may_view_photo through
services.console_task_forms) to the signed-in person on every request; a photo outside the
scope answers like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.appkeys import CLOCK, MEDIA, RULES, SESSIONMAKER
from bot.web import stored
from bot.web.console import texts as T
from bot.web.console.render import page, render
from bot.web.console.task_forms import parse_deadline
from core.deadlines import DeadlineError
from core.deadlines import parse_deadline as parse_words
from core.errors import Invalid, NotFound
from core.inputs import int_id
from services import console_task_forms as forms
from services import task_review
from services.console_auth import Current

DEFAULT_RETURN_DEADLINE = "3天内"  # as the chat's 退回 without a deadline


def _ids(request: web.Request) -> tuple[int, int]:
    return int_id(request.match_info["number"]) or 0, int_id(request.match_info["village"]) or 0


async def _page(
    request: web.Request,
    signed: Current,
    *,
    error: str = "",
    reason: str = "",
    deadline: str = "",
    status: int = 200,
) -> web.Response:
    number, village_id = _ids(request)
    async with request.app[SESSIONMAKER]() as session:
        sub = await forms.submission(session, signed.person, number, village_id)
    return render(
        request,
        "submission.html",
        status=status,
        signed=signed,
        title=f"{sub.item.village_name} · {sub.task.title}",
        nav="tasks",
        s=sub,
        error=error,
        reason=reason,
        deadline=deadline,
        done=T.DONE.get(request.query.get("done", ""), ""),
    )


@page("task.submission")
async def submission(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _page(request, signed)


def _back(request: web.Request, done: str) -> web.Response:
    number, village_id = _ids(request)
    where = f"/console/tasks/{number}/villages/{village_id}?done={done}"
    return web.Response(status=303, headers={"Location": where})


@page("task.approve")
async def approve(request: web.Request, signed: Current) -> web.StreamResponse:
    number, village_id = _ids(request)
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await task_review.approve(
            session,
            signed.person,
            number,
            village_id,
            now=request.app[CLOCK].now(),
            rules=request.app[RULES],
        )
    return _back(request, "approved")


def _return_deadline(raw: str, now: datetime, request: web.Request) -> datetime:
    rules = request.app[RULES]
    if raw:
        at = parse_deadline(raw, now, rules)
        assert at is not None
        return at
    try:
        return parse_words(DEFAULT_RETURN_DEADLINE, now, rules.timezone)
    except DeadlineError as err:  # pragma: no cover - a fixed phrase that always parses
        raise Invalid(str(err), field="deadline") from err


@page("task.return")
async def return_(request: web.Request, signed: Current) -> web.StreamResponse:
    number, village_id = _ids(request)
    data = await request.post()
    raw_reason, raw_deadline = data.get("reason", ""), data.get("deadline", "")
    reason = raw_reason.strip() if isinstance(raw_reason, str) else ""
    deadline_text = raw_deadline.strip()[:40] if isinstance(raw_deadline, str) else ""
    now = request.app[CLOCK].now()
    try:
        if not reason:
            raise Invalid(T.REASON_NEEDED, field="reason")
        if len(reason) > task_review.MAX_REASON:
            raise Invalid(T.REASON_TOO_LONG.format(n=task_review.MAX_REASON), field="reason")
        deadline = _return_deadline(deadline_text, now, request)
        async with request.app[SESSIONMAKER]() as session, session.begin():
            await task_review.return_(
                session,
                signed.person,
                number,
                village_id,
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
            reason=reason[: task_review.MAX_REASON * 2],
            deadline=deadline_text,
            status=400,
        )
    return _back(request, "returned")


@page("media")
async def media(request: web.Request, signed: Current) -> web.StreamResponse:
    rel = request.match_info["path"][:300]
    async with request.app[SESSIONMAKER]() as session:
        allowed = await forms.may_view_photo(session, signed.person, rel)
    # Outside the scope answers like an unknown path (audited by the page wrapper).
    if not allowed:
        raise NotFound(T.NOT_FOUND)
    response = await stored.answer(
        request, request.app[MEDIA], rel, headers={"Cache-Control": "private, max-age=3600"}
    )
    if response is None:
        raise NotFound(T.NOT_FOUND)
    return response


def setup(app: web.Application) -> None:
    base = "/console/tasks/{number}/villages/{village}"
    app.router.add_get(base, submission)
    app.router.add_post(base + "/approve", approve)
    app.router.add_post(base + "/return", return_)
    app.router.add_get("/console/media/{path:.+}", media)
