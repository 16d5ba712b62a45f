"""问答: the unanswered-question queue of the person's county (paged), with 答复 and 存为问答.

    GET  /console/faq                    the queue, oldest first
    POST /console/faq/{number}/answer    答复 (pushed to the asker)
    POST /console/faq/{number}/save      存为问答 (after an answer exists)
    POST /console/faq/{number}/ignore    忽略 (with a reason; off the queue, nothing pushed)

合并到已有问答 is faq_merge; the entries themselves are faq_entries.

The posts are the chat's use cases (services.faq.answer / save_as_faq / ignore, by the
question's public number): the same county staff check, the same push, the same audit. Another county's
number is answered like an unknown one (404). A refused answer re-shows the page with the
reason and what was typed.
"""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SERVICES, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console.render import page, query_page, render
from core.errors import Conflict, Invalid
from core.inputs import int_id
from core.numbers import question_ref
from services import console_faq, faq, faq_file
from services.console_auth import Current


def _number(request: web.Request) -> int:
    return int_id(request.match_info["number"]) or 0


def _done(request: web.Request) -> tuple[str, int]:
    """What the page says after a post went through, and the question it was about."""
    number = int_id(request.query.get("n", "")) or 0
    done = request.query.get("done", "")
    if not number:
        return "", 0
    if done == "answered":
        return T.FAQ_ANSWERED.format(ref=question_ref(number)), number
    if done == "saved":
        entry = int_id(request.query.get("entry", "")) or 0
        return T.FAQ_SAVED.format(ref=question_ref(number), faq_id=f"Q{entry}"), 0
    if done == "ignored":
        return T.FAQ_IGNORED.format(ref=question_ref(number)), 0
    faq_id = request.query.get("entry", "")
    if done == "merged" and faq_file.valid_id(faq_id):
        alias = T.FAQ_MERGED_ALIAS if request.query.get("alias") == "1" else ""
        shared = T.FAQ_MERGED_SHARED if request.query.get("alias") == "shared" else ""
        said = T.FAQ_MERGED.format(ref=question_ref(number), faq_id=faq_id)
        return said + alias + shared, 0
    return "", 0


async def _page(
    request: web.Request,
    signed: Current,
    *,
    page_no: int,
    error: str = "",
    number: int = 0,
    typed: str = "",
    status: int = 200,
) -> web.Response:
    async with request.app[SESSIONMAKER]() as session:
        data = await console_faq.queue(session, signed.person, page=page_no)
    done, answered = _done(request) if not error else ("", 0)
    return render(
        request,
        "faq.html",
        status=status,
        signed=signed,
        title="问答",
        nav="faq",
        d=data,
        error=error,
        number=number,
        typed=typed,
        done=done,
        answered=answered,
        max_answer=faq.MAX_STAFF_ANSWER,
        max_reason=faq.MAX_IGNORE_REASON,
    )


@page("faq")
async def queue(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _page(request, signed, page_no=query_page(request))


async def _posted(
    request: web.Request, field: str = "answer", limit: int = faq.MAX_STAFF_ANSWER
) -> tuple[str, int]:
    """The posted text (up to twice its limit, so a longer one is refused, not cut) and the
    queue page to go back to."""
    data = await request.post()
    raw, raw_page = data.get(field, ""), data.get("page", "1")
    text = raw.strip()[: limit * 2] if isinstance(raw, str) else ""
    page_no = (int_id(raw_page.strip()) if isinstance(raw_page, str) else None) or 1
    return text, page_no


def _back(number: int, page_no: int, query: str) -> web.Response:
    where = f"/console/faq?page={page_no}&n={number}&{query}"
    return web.Response(status=303, headers={"Location": where})


@page("faq.answer")
async def answer(request: web.Request, signed: Current) -> web.StreamResponse:
    number = _number(request)
    text, page_no = await _posted(request)
    try:
        if not text:
            raise Invalid(T.FAQ_ANSWER_NEEDED, field="answer")
        async with request.app[SESSIONMAKER]() as session, session.begin():
            await faq.answer(
                session,
                signed.person,
                number,
                text,
                now=request.app[CLOCK].now(),
                rules=request.app[RULES],
            )
    except Invalid as err:
        return await _page(
            request,
            signed,
            page_no=page_no,
            error=err.message,
            number=number,
            typed=text,
            status=400,
        )
    return _back(number, page_no, "done=answered")


@page("faq.save")
async def save(request: web.Request, signed: Current) -> web.StreamResponse:
    number = _number(request)
    _, page_no = await _posted(request)
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            entry = await faq.save_as_faq(
                session,
                signed.person,
                number,
                index=request.app[SERVICES].faq,
                now=request.app[CLOCK].now(),
                rules=request.app[RULES],
            )
    except (Invalid, Conflict) as err:
        return await _page(
            request,
            signed,
            page_no=page_no,
            error=err.message,
            number=number,
            status=err.status,
        )
    return _back(number, page_no, f"done=saved&entry={entry.id.removeprefix('Q')}")


@page("faq.ignore")
async def ignore(request: web.Request, signed: Current) -> web.StreamResponse:
    number = _number(request)
    reason, page_no = await _posted(request, "reason", faq.MAX_IGNORE_REASON)
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            await faq.ignore(session, signed.person, number, reason, now=request.app[CLOCK].now())
    except (Invalid, Conflict) as err:
        return await _page(
            request, signed, page_no=page_no, error=err.message, number=number, status=err.status
        )
    return _back(number, page_no, "done=ignored")


def setup(app: web.Application) -> None:
    app.router.add_get("/console/faq", queue)
    app.router.add_post("/console/faq/{number}/answer", answer)
    app.router.add_post("/console/faq/{number}/save", save)
    app.router.add_post("/console/faq/{number}/ignore", ignore)
