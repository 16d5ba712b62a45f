"""JSON HTTP API for county and township staff: create tasks and notices, read their status per
village. Township staff send to their own township's villages and read the tasks their township
sent, under the same rule as in chat (services.tasks): a village of another township is an
unknown name (400, audited), another township's task an unknown id (404, audited).

    POST /api/tasks        Authorization: Bearer <token>
      {"title": "...", "body": "...", "kind": "task"|"notice", "deadline": "12月5日前"|ISO,
       "scope": {"county": true} | {"townships": [..]} | {"villages": [..]},
       "evidence_required": false, "reminder_offsets": ["3d", "1d", "0d"]}
    GET  /api/tasks/{number}

A task is named by its public number in the caller's county (``"number": 3``, the 任务 3 every
village sees in chat); its villages by name. Internal row ids are never exposed.

Errors are JSON ``{"error": code, "message": 中文说明}``: 401 bad or missing token, 404 no such task in the
caller's county (another county's task, an unknown or a malformed number alike), 400 malformed JSON or invalid fields (an unknown village
adds ``near``: the names that come close), 413 a body over the limit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from core.deadlines import DeadlineError, parse_deadline
from core.errors import Conflict, DomainError, Invalid, NotFound, Refused
from core.inputs import INT32_MAX, BadInput, int_id, load_json
from core.reminder_schedule import DEFAULT_OFFSETS, valid_offset
from core.rules import Rules
from core.text import clean_text
from services import audit_refusals
from services import tasks as service
from storage import api_tokens
from storage.people import PersonDTO
from storage.tasks import MAX_BODY, MAX_TITLE

log = logging.getLogger(__name__)

_PERSON = web.RequestKey("api_person", int)  # who was authenticated, for the refusal audit
MAX_REQUEST = 64 * 1024
MAX_SCOPE_NAMES = 2000
MAX_OFFSETS = 10
MAX_NAME = 64
MAX_DEPTH = 4  # {"scope": {"villages": [...]}} is three levels
BAD_JSON = "请求不是合法的 JSON（或嵌套太深、数字超出范围、含 NaN）。"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    @classmethod
    def of(cls, err: DomainError) -> ApiError:
        """The JSON error for a use case's refusal: status from the error, code from its kind
        (an invalid scope is ``invalid_scope``), ``field`` and details (``near``) passed on."""
        if isinstance(err, Invalid):
            code = "invalid_scope" if err.field == "scope" else "invalid_field"
        else:
            code = _CODES.get(type(err), "refused")
        extra = {k: v for k, v in err.detail.items() if v}
        if err.field:
            extra["field"] = err.field
        return cls(err.status, code, err.message, **extra)

    def response(self) -> web.Response:
        return web.json_response(
            {"error": self.code, "message": self.message, **self.extra}, status=self.status
        )


_CODES: dict[type[DomainError], str] = {
    Refused: "forbidden",
    NotFound: "not_found",
    Conflict: "conflict",
}


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as err:
        if err.status in (403, 404):
            await _audit_refusal(request, err.code)
        return err.response()
    except DomainError as err:
        await _audit_refusal(request, audit_refusals.reason_of(err))
        return ApiError.of(err).response()


async def _audit_refusal(request: web.Request, reason: str | None) -> None:
    """A refused API call leaves an audit row and a log line (after the request's rollback)."""
    await audit_refusals.record_apart(
        request.app[SESSIONMAKER],
        reason,
        now=request.app[CLOCK].now(),
        person_id=request.get(_PERSON),
        action=f"api.{request.method.lower()}",
        obj=request.path,
        msg=request.headers.get("X-Request-Id", "-"),
        via="api",
    )


async def _staff(request: web.Request, session: Any) -> PersonDTO:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "缺少令牌：请在 Authorization 头中写 Bearer 令牌。")
    person = await api_tokens.person_for(session, token.strip())
    if person is None:
        raise ApiError(401, "unauthorized", "令牌无效或已作废。")
    request[_PERSON] = person.id
    if not service.is_dispatcher(person):
        raise ApiError(403, "forbidden", "只有县、乡镇工作人员可以使用 API。")
    return person


async def _json(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_REQUEST:
        raise ApiError(413, "too_large", f"请求太大（最多 {MAX_REQUEST // 1024} KB）。")
    raw = await request.content.read(MAX_REQUEST + 1)
    if len(raw) > MAX_REQUEST:
        raise ApiError(413, "too_large", f"请求太大（最多 {MAX_REQUEST // 1024} KB）。")
    try:
        data = load_json(raw, MAX_DEPTH)
    except BadInput as exc:
        log.info("api request refused: %s", exc.reason)
        raise ApiError(400, "malformed_json", BAD_JSON) from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "请求体必须是 JSON 对象。")
    return data


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = data.get(name, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(400, "invalid_field", f"字段 {name} 的类型不对。", field=name)
    return clean_text(value) if isinstance(value, str) else value


def _name(value: Any) -> str | int | None:
    """A township or village name (cleaned, at most MAX_NAME characters) or a 32-bit id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= INT32_MAX else None
    if isinstance(value, str) and len(value) <= MAX_NAME:
        return clean_text(value) or None
    return None


def _scope(data: dict[str, Any]) -> dict[str, Any]:
    scope = _field(data, "scope", dict, {"county": True})
    allowed = {"county", "townships", "villages"}
    if set(scope) - allowed or not scope:
        raise ApiError(
            400, "invalid_field", "scope 只能是 county、townships 或 villages。", field="scope"
        )
    if "county" in scope and scope["county"] is not True:
        raise ApiError(400, "invalid_field", "scope.county 只能是 true。", field="scope")
    for key in ("townships", "villages"):
        if key in scope:
            names = scope[key]
            cleaned = [_name(n) for n in names] if isinstance(names, list) else []
            if not cleaned or len(cleaned) > MAX_SCOPE_NAMES or None in cleaned:
                raise ApiError(
                    400, "invalid_field", f"scope.{key} 必须是非空的名称列表。", field="scope"
                )
            scope = {**scope, key: cleaned}
    return scope


def draft_of(data: dict[str, Any], now: datetime, rules: Rules) -> service.TaskDraft:
    """The request's fields, type-checked and parsed (a ``deadline`` text becomes a time)."""
    kind = _field(data, "kind", str, "task")
    if kind not in service.SENDABLE:
        raise ApiError(400, "invalid_field", "kind 只能是 task 或 notice。", field="kind")
    title = _field(data, "title", str, "").strip()
    if not title or len(title) > MAX_TITLE:
        raise ApiError(400, "invalid_field", f"title 必填，最多 {MAX_TITLE} 字。", field="title")
    body = _field(data, "body", str, "")
    if len(body) > MAX_BODY:
        raise ApiError(400, "invalid_field", f"body 最多 {MAX_BODY} 字。", field="body")
    evidence = _field(data, "evidence_required", bool, False)
    offsets = _field(data, "reminder_offsets", list, list(DEFAULT_OFFSETS))
    if len(offsets) > MAX_OFFSETS or not all(
        isinstance(o, str) and valid_offset(o) for o in offsets
    ):
        raise ApiError(
            400,
            "invalid_field",
            'reminder_offsets 是提前量列表，如 ["3d", "1d", "0d", "6h"]。',
            field="reminder_offsets",
        )
    return service.TaskDraft(
        kind=kind,
        title=title,
        body=body,
        deadline=_deadline(data, kind, now, rules),
        scope=_scope(data),
        evidence_required=evidence,
        reminder_offsets=tuple(offsets),
    )


def _deadline(data: dict[str, Any], kind: str, now: datetime, rules: Rules) -> datetime | None:
    raw = data.get("deadline")
    if kind != "task" and raw is None:
        return None
    if not isinstance(raw, str):
        raise ApiError(400, "invalid_field", "任务需要 deadline。", field="deadline")
    try:
        return parse_deadline(raw, now, rules.timezone)
    except DeadlineError as err:
        raise ApiError(400, "invalid_field", err.message, field="deadline") from None


async def create_task(request: web.Request) -> web.Response:
    clock, rules = request.app[CLOCK], request.app[RULES]
    async with request.app[SESSIONMAKER]() as session, session.begin():
        me = await _staff(request, session)
        draft = draft_of(await _json(request), clock.now(), rules)
        created = await service.create_task(
            session, me, draft, now=clock.now(), rules=rules, via="api"
        )
    task = created.task
    log.info("api task created task=%s person=%s villages=%d", task.id, me.id, len(created.items))
    return web.json_response(
        {
            "number": task.number,
            "kind": task.kind,
            "title": task.title,
            "deadline": task.deadline.isoformat() if task.deadline else None,
            "assignments": len(created.items),
            "unassigned": created.unassigned,
        },
        status=201,
    )


async def get_task(request: web.Request) -> web.Response:
    raw = request.match_info["number"]
    # Not digits, zero, or beyond any number we hand out: asked of the service like an unknown
    # number, so the answer (404) and its audit row are those of any task the caller may not see.
    number = int_id(raw) or 0
    now = request.app[CLOCK].now()
    async with request.app[SESSIONMAKER]() as session:
        me = await _staff(request, session)
        found = await service.task_progress(session, me, number)
    task, items = found.task, found.items
    counts = service.status_tally(items)
    return web.json_response(
        {
            "number": task.number,
            "kind": task.kind,
            "title": task.title,
            "status": task.status,
            "deadline": task.deadline.isoformat() if task.deadline else None,
            "counts": counts,
            "villages": [
                {
                    "village_id": i.village_id,
                    "village": i.village_name,
                    "status": i.status,
                    "overdue": i.overdue(now),
                    "assignee_id": i.assignee_id,
                    "deadline": i.deadline.isoformat() if i.deadline else None,
                    "acked_at": i.acked_at.isoformat() if i.acked_at else None,
                    "submitted_at": i.submitted_at.isoformat() if i.submitted_at else None,
                }
                for i in items
            ],
        }
    )


def setup(app: web.Application) -> None:
    app.middlewares.append(_errors)
    app.router.add_post("/api/tasks", create_task)
    app.router.add_get("/api/tasks/{number}", get_task)
