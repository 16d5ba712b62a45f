"""Household visits by chat: the commands, the flow and the buttons, wired to their modules.

    走访 / 走访 王三女 ...   handlers/visit_report.py (start; one-message report)
    the guided flow          handlers/visit_flow.py (state: handlers/visit_draft.py)
    photos, locations        handlers/visit_photos.py (outside a flow)
    撤销, 修改               handlers/visit_revoke.py

Progress is in handlers/visit_progress.py, the problem list and 整改完成 in handlers/rectify.py;
the rules themselves in services/visits.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core import payloads as P
from core.errors import Refused
from core.messages import Reply
from core.roles import VILLAGE_ROLES
from handlers import visit_flow, visit_photos, visit_revoke
from handlers import visit_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.visit_draft import FLOW, Step
from handlers.visit_report import WORDS, ask_replace, cmd_visit, fresh_report, on_replace

# Buttons that work outside the flow (their ids are re-checked by the use case).
LOOSE_BUTTONS: dict[type[P.Payload], Callable[[Context, Any], Awaitable[list[Reply]]]] = {
    P.VisitPhoto: visit_photos.on_photo_choice,
    P.VisitRevoke: visit_revoke.on_revoke,
}


async def on_button(ctx: Context, _rest: str) -> list[Reply]:
    payload = P.unpack(ctx.incoming.payload)
    if payload is None:
        raise Refused(T.STALE_BUTTON)
    loose = LOOSE_BUTTONS.get(type(payload))
    if loose is not None:
        return await loose(ctx, payload)
    state = ctx.state
    if state is None:
        raise Refused(T.STALE_BUTTON)
    if state.flow != FLOW:
        return [Reply(T.PRESS_BUTTON)]
    if isinstance(payload, P.VisitReplace) and state.step == Step.REPLACE:
        return await on_replace(ctx, visit_flow.draft_of(ctx)[1], payload)
    return await visit_flow.on_button(ctx, payload)


async def flow_visit(ctx: Context) -> list[Reply]:
    """Messages (not buttons) while the visit flow is active."""
    assert ctx.state is not None
    inc = ctx.incoming
    if inc.kind in ("photo", "voice"):
        got = await visit_photos.store_photo(ctx)
        if got is None:
            return [Reply(T.VOICE_UNREADABLE if inc.kind == "voice" else T.PHOTO_UNREADABLE)]
        if ctx.state.step == Step.REPLACE:  # two visits open: ask, do not guess
            return await visit_photos.ask_between(ctx, visit_flow.draft_of(ctx)[1], got)
        return await visit_flow.on_message(ctx, photo=got)
    if inc.kind == "text" and ctx.state.step not in (Step.PROBLEM_TEXT, Step.NOTE):
        args = fresh_report(inc.text.strip())
        if args is not None and ctx.state.step in (Step.CONFIRM, Step.REPLACE):
            return await ask_replace(ctx, visit_flow.draft_of(ctx)[1], args)
        if args is not None:
            return await cmd_visit(ctx, args)
    return await visit_flow.on_message(ctx)


def register(registry: Registry) -> None:
    registry.command(Command(WORDS, cmd_visit, VILLAGE_ROLES, T.HELP_VISIT, prefix=True, order=10))
    registry.command(
        Command(("撤销", "/undo"), visit_revoke.cmd_revoke, VILLAGE_ROLES, T.HELP_REVOKE, order=15)
    )
    registry.command(
        Command(("修改", "/amend"), visit_revoke.cmd_amend, VILLAGE_ROLES, T.HELP_AMEND, order=16)
    )
    registry.flow(FLOW, flow_visit, keeps=WORDS)
    registry.button("visit", on_button)
    registry.on_photo = visit_photos.on_photo
    registry.on_location = visit_photos.on_location
