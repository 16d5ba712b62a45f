"""Problems found on visits: 问题 lists them, 整改完成 N plus a photo hands a fix in for
review (the review itself, by township or county staff, is handlers/rectify_review.py).

Flow ``rectify``: 整改完成 N -> photo (or a photo sent in the ten minutes before).
services/rectify.py checks the number and hands the fix in; this asks and renders. A voice
note sent meanwhile is stored like any (handlers/visit_photos.store_photo) and kept with the
problem; the flow still waits for the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.messages import Reply
from core.numbers import leading_number, problem_ref
from core.roles import STAFF_ROLES, VILLAGE_ROLES
from core.statuses import ProblemStatus
from handlers import visit_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.visit_photos import store_photo
from services import rectify as rectify_service

RECTIFY = "rectify"


class Step(StrEnum):
    PHOTO = "photo"  # waiting for the photo that proves it


@dataclass(frozen=True)
class RectifyDraft:
    """The flow's state: the problem awaiting its photo."""

    problem: int

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RectifyDraft:
        return cls(int(data["problem"]))


async def cmd_rectify(ctx: Context, args: str) -> list[Reply]:
    number, rest = leading_number(args)
    if number is None or rest:
        return [Reply(T.RECTIFY_HOW)]
    problem = await rectify_service.open_problem(ctx.session, ctx.me, number)
    photo_id = await rectify_service.evidence_at_hand(ctx.session, ctx.me, ctx.now())
    if photo_id is not None:
        return await _close(ctx, problem.id, photo_id)
    await ctx.set_state(RECTIFY, Step.PHOTO, RectifyDraft(problem.id).to_dict())
    text = T.RECTIFY_PHOTO_ASK.format(
        ref=problem_ref(problem.number), name=problem.household_name, kind=problem.kind
    )
    return [Reply(text)]


async def flow_rectify(ctx: Context) -> list[Reply]:
    assert ctx.state is not None
    if ctx.incoming.kind == "voice":
        return await _voice(ctx, RectifyDraft.from_dict(ctx.state.data).problem)
    if ctx.incoming.kind != "photo":
        return [Reply(T.RECTIFY_WAITING)]
    got = await store_photo(ctx)
    if got is None:
        return [Reply(T.PHOTO_UNREADABLE)]
    return await _close(ctx, RectifyDraft.from_dict(ctx.state.data).problem, got[0])


async def _voice(ctx: Context, problem_id: int) -> list[Reply]:
    got = await store_photo(ctx)
    if got is None:
        return [Reply(T.VOICE_UNREADABLE)]
    noted = await rectify_service.attach_voice(
        ctx.session, ctx.me, problem_id, got[0], now=ctx.now()
    )
    if not noted.linked:
        return [Reply(T.RECTIFY_VOICE_SEEN)]
    ref = problem_ref(noted.problem.number)
    return [Reply(T.RECTIFY_VOICE_GOT.format(ref=ref, n=noted.count))]


async def _close(ctx: Context, problem_id: int, photo_id: int) -> list[Reply]:
    problem = await rectify_service.submit_fix(
        ctx.session, ctx.me, problem_id, photo_id, now=ctx.now()
    )
    if ctx.state is not None:
        await ctx.clear_state()
    name, kind = problem.household_name, problem.kind
    return [Reply(T.RECTIFY_SUBMITTED.format(id=problem.number, name=name, kind=kind))]


async def cmd_problems(ctx: Context, _args: str) -> list[Reply]:
    rows, total = await rectify_service.open_problems(ctx.session, ctx.me)
    if not total:
        return [Reply(T.PROBLEMS_NONE)]
    lines = [
        T.PROBLEM_LINE.format(
            ref=problem_ref(p.number),
            name=p.household_name,
            kind=p.kind,
            desc=p.description[:40],
            deadline=ctx.rules.local(p.deadline).strftime("%m-%d") if p.deadline else "—",
        )
        + (T.PROBLEM_IN_REVIEW if p.status == ProblemStatus.REVIEW else "")
        for p in rows
    ]
    if total > len(lines):
        lines.append(T.PROBLEMS_MORE.format(n=total - len(lines)))
    return [Reply("\n".join([T.PROBLEMS_HEAD.format(n=total), *lines]))]


def register(registry: Registry) -> None:
    everyone = VILLAGE_ROLES | STAFF_ROLES
    registry.command(
        Command(
            ("问题", "问题清单", "/problems"), cmd_problems, everyone, T.HELP_PROBLEMS, order=13
        )
    )
    registry.command(
        Command(
            ("整改完成", "/rectified"), cmd_rectify, VILLAGE_ROLES, T.HELP_RECTIFY, prefix=True,
            order=14,
        )
    )  # fmt: skip
    registry.flow(RECTIFY, flow_rectify)
