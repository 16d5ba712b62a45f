"""任务 forms: send a task or notice (form -> preview -> 确认发送), and withdraw one (撤销,
after a page asking 确认撤销?).

    GET  /console/tasks/new              the form: title, body, deadline, scope, 需要照片
    POST /console/tasks/new              step=preview: the villages and when pushes go out;
                                         step=edit: back to the form; step=confirm: created
    GET  /console/tasks/{number}/cancel  确认撤销?
    POST /console/tasks/{number}/cancel  withdrawn (services.task_review.cancel_task)

They call the chat's use cases (services.tasks.preview_villages / create_task, task_review
.cancel_task), which check role and scope and write the audit; nothing is sent before 确认.
A form that breaks a rule comes back with what was typed and the reason in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from multidict import MultiMapping

from bot.appkeys import CLOCK, MEDIA, RULES, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console import uploads
from bot.web.console.render import page, render
from core.errors import Invalid
from core.inputs import int_id
from core.rules import Rules
from core.statuses import TaskKind
from services import attachment_texts as AT
from services import attachments, task_review, tasks
from services import console_task_forms as forms
from services.attachments import human_size
from services.console_auth import Current
from storage.tasks import MAX_BODY, MAX_TITLE, TaskDTO

MAX_CHOICES = 2000  # checkboxes a form may carry (a county has a few hundred villages)


@dataclass
class Typed:
    """The form as typed, to re-show it and to build the draft from."""

    kind: str = TaskKind.TASK
    title: str = ""
    body: str = ""
    deadline: str = ""
    evidence: bool = False
    towns: set[str] = field(default_factory=set)
    villages: set[str] = field(default_factory=set)
    upload: str = ""  # the staging batch of the files uploaded so far (services.attachments)
    files: tuple[attachments.Staged, ...] = ()


async def read_fields(request: web.Request) -> MultiMapping[object]:
    """The posted fields: a form with files was read by the CSRF check (uploads.read)."""
    if uploads.is_multipart(request):
        return uploads.posted(request).fields
    return await request.post()


def read_typed(data: MultiMapping[object]) -> Typed:
    def text(name: str, limit: int) -> str:
        value = data.get(name, "")
        return value[:limit] if isinstance(value, str) else ""

    def ids(name: str) -> set[str]:
        values = [v for v in data.getall(name, []) if isinstance(v, str)][:MAX_CHOICES]
        return {str(int_id(v) or 0) for v in values}

    return Typed(
        kind=text("kind", 20),
        title=text("title", MAX_TITLE * 2).strip(),
        body=text("body", MAX_BODY * 2).strip(),
        deadline=text("deadline", 40).strip(),
        evidence=data.get("evidence") == "1",
        towns=ids("town"),
        villages=ids("village"),
        upload=text("upload", 64),
    )


def parse_deadline(raw: str, now: datetime, rules: Rules) -> datetime | None:
    """A ``datetime-local`` value (``2026-12-10T18:00``), read in the county's zone."""
    if not raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(T.BAD_DEADLINE, field="deadline") from None
    if local.tzinfo is not None or not 2000 <= local.year <= 2100:
        raise Invalid(T.BAD_DEADLINE, field="deadline")
    at = local.replace(tzinfo=rules.timezone)
    if at <= now:
        raise Invalid(T.PAST_DEADLINE, field="deadline")
    return at


def draft_of(
    typed: Typed, now: datetime, rules: Rules, batch: attachments.Batch | None = None
) -> tasks.TaskDraft:
    if typed.kind not in tasks.SENDABLE:
        raise Invalid(T.BAD_KIND, field="kind")
    if not (typed.towns or typed.villages):
        raise Invalid(T.NO_PLACE_CHOSEN, field="scope")
    draft = tasks.TaskDraft(
        kind=typed.kind,
        title=typed.title,
        body=typed.body,
        deadline=parse_deadline(typed.deadline, now, rules),
        scope={"townships": sorted(typed.towns), "villages": sorted(typed.villages)},
        evidence_required=typed.evidence and typed.kind == TaskKind.TASK,
        attachments=batch,
    )
    tasks.check_draft(draft)
    return draft


async def _form(
    request: web.Request, signed: Current, typed: Typed, *, error: str = "", status: int = 200
) -> web.Response:
    async with request.app[SESSIONMAKER]() as session:
        towns = await forms.sendable(session, signed.person)
    return render(
        request,
        "task_new.html",
        status=status,
        signed=signed,
        title=T.NEW_TASK,
        nav="tasks",
        typed=typed,
        towns=towns,
        error=error,
        limit=human_size(uploads.file_limit(request.app)),
        max_files=attachments.MAX_FILES,
        human_size=human_size,
    )


@page("task.new")
async def new_form(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _form(request, signed, Typed())


@page("task.create")
async def new_post(request: web.Request, signed: Current) -> web.StreamResponse:
    fields = await read_fields(request)
    typed = read_typed(fields)
    step = fields.get("step")
    now, rules = request.app[CLOCK].now(), request.app[RULES]
    try:
        batch = await _files(request, signed, typed, now)
    except Invalid as err:
        typed.upload, typed.files = await _carried(request, signed, typed, now)
        return await _form(request, signed, typed, error=err.message, status=400)
    typed.upload, typed.files = (batch.id, batch.files) if batch else ("", ())
    if step not in ("preview", "confirm"):
        return await _form(request, signed, typed)
    try:
        draft = draft_of(typed, now, rules, batch)
        if step == "preview":
            async with request.app[SESSIONMAKER]() as session:
                chosen = await tasks.preview_villages(session, signed.person, draft.scope)
        else:
            async with request.app[SESSIONMAKER]() as session, session.begin():
                made = await tasks.create_task(
                    session,
                    signed.person,
                    draft,
                    now=now,
                    rules=rules,
                    via="console",
                    media=request.app[MEDIA],
                )
    except Invalid as err:
        return await _form(request, signed, typed, error=err.message, status=400)
    if step == "confirm":
        if batch is not None:
            await attachments.discard(batch)
        return _see(f"/console/tasks/{made.task.number}?done=sent")
    start = rules.after_quiet_hours(now)
    when = T.PUSH_NOW if start <= now else T.PUSH_LATER.format(at=_local(start, rules))
    return render(
        request,
        "task_preview.html",
        signed=signed,
        title=T.NEW_TASK,
        nav="tasks",
        typed=typed,
        draft=draft,
        groups=_grouped(chosen),
        count=len(chosen),
        when=when,
        human_size=human_size,
    )


async def _carried(
    request: web.Request, signed: Current, typed: Typed, now: datetime
) -> tuple[str, tuple[attachments.Staged, ...]]:
    """The files uploaded before a post that was refused, to show them again (none when the
    batch has expired or is not this person's)."""
    if not typed.upload:
        return "", ()
    staging = uploads.staging_dir(request.app)
    try:
        batch = await attachments.load(staging, typed.upload, signed.person.id, now)
    except Invalid:
        return "", ()
    return batch.id, batch.files


async def _files(
    request: web.Request, signed: Current, typed: Typed, now: datetime
) -> attachments.Batch | None:
    """The files of this form so far: those carried from an earlier step (``upload``) plus
    any uploaded with this post, checked and staged (Invalid with the reason in Chinese)."""
    staging = uploads.staging_dir(request.app)
    if not uploads.is_multipart(request):
        if not typed.upload:
            return None
        return await attachments.load(staging, typed.upload, signed.person.id, now)
    got = uploads.posted(request)
    limit = uploads.file_limit(request.app)
    if got.broken or got.too_many:
        message = AT.FORM_TOO_BIG if got.broken else AT.TOO_MANY
        await attachments.drop(got.files)  # nothing of a refused post is kept
        raise Invalid(message.format(n=attachments.MAX_FILES, limit=human_size(limit)))
    await attachments.sweep(staging, now)
    return await attachments.stage(
        staging, signed.person.id, typed.upload, got.files, now=now, limit=limit
    )


def _local(at: datetime, rules: Rules) -> str:
    return at.astimezone(rules.timezone).strftime("%m-%d %H:%M")


def _grouped(rows: list[tuple[int, str, int, str]]) -> list[tuple[str, list[str]]]:
    out: dict[str, list[str]] = {}
    for _vid, vname, _tid, tname in rows:
        out.setdefault(tname, []).append(vname)
    return list(out.items())


def _see(where: str) -> web.Response:
    return web.Response(status=303, headers={"Location": where})


def _number(request: web.Request) -> int:
    return int_id(request.match_info["number"]) or 0


@page("task.cancel")
async def cancel_ask(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        task = await task_review.cancellable(session, signed.person, _number(request))
    return _cancel_page(request, signed, task)


def _cancel_page(request: web.Request, signed: Current, task: TaskDTO) -> web.Response:
    names: dict[str, str] = dict(T.KIND_ZH.items())
    kind = names.get(task.kind, task.kind)
    return render(
        request,
        "task_cancel.html",
        signed=signed,
        title="撤销" + kind,
        nav="tasks",
        task=task,
        message=T.CANCEL_ASK.format(kind=kind, title=task.title, number=task.number),
    )


@page("task.cancel")
async def cancel_post(request: web.Request, signed: Current) -> web.StreamResponse:
    now, rules = request.app[CLOCK].now(), request.app[RULES]
    async with request.app[SESSIONMAKER]() as session, session.begin():
        done = await task_review.cancel_task(
            session, signed.person, _number(request), now=now, rules=rules
        )
    return _see(f"/console/tasks/{done.task.number}?done=cancelled")


def setup(app: web.Application) -> None:
    # Before /console/tasks/{number}: "new" is not a number.
    app.router.add_get("/console/tasks/new", new_form)
    app.router.add_post("/console/tasks/new", new_post)
    app.router.add_get("/console/tasks/{number}/cancel", cancel_ask)
    app.router.add_post("/console/tasks/{number}/cancel", cancel_post)
