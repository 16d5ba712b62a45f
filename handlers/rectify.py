"""Problems found on visits: 问题 lists them, 整改完成 N plus a photo closes one.

Flow ``rectify``: 整改完成 N -> photo (or a photo sent in the ten minutes before).
"""

from __future__ import annotations

from core.messages import Reply
from core.roles import STAFF_ROLES, VILLAGE_ROLES
from handlers import visit_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.visit_common import store_photo
from storage import photos as photo_store
from storage import problems as problem_store

RECTIFY = "rectify"


async def cmd_rectify(ctx: Context, args: str) -> list[Reply]:
    number = args.strip().lstrip("#＃")
    if not number.isdigit():
        return [Reply(T.RECTIFY_HOW)]
    problem = await problem_store.get(ctx.session, int(number))
    if problem is None:
        return [Reply(T.RECTIFY_UNKNOWN.format(id=number))]
    await ctx.require_scope(problem.village_id, f"问题 #{problem.id}")
    if problem.status != "open":
        return [
            Reply(
                T.RECTIFY_NOT_OPEN.format(
                    id=problem.id,
                    status=problem_store.STATUS_ZH.get(problem.status, problem.status),
                )
            )
        ]
    loose = await photo_store.loose_photos(ctx.session, ctx.me.id, ctx.now())
    if loose:
        return await _close(ctx, problem.id, loose[-1])
    await ctx.set_state(RECTIFY, "photo", {"problem": problem.id})
    return [
        Reply(
            T.RECTIFY_PHOTO_ASK.format(
                id=problem.id, name=problem.household_name, kind=problem.kind
            )
        )
    ]


async def flow_rectify(ctx: Context) -> list[Reply]:
    assert ctx.state is not None
    if ctx.incoming.kind != "photo":
        return [Reply(T.RECTIFY_WAITING)]
    got = await store_photo(ctx)
    if got is None:
        return [Reply(T.PHOTO_UNREADABLE)]
    return await _close(ctx, int(ctx.state.data["problem"]), got[0])


async def _close(ctx: Context, problem_id: int, photo_id: int) -> list[Reply]:
    problem = await problem_store.get(ctx.session, problem_id)
    assert problem is not None
    await problem_store.close(ctx.session, problem_id, photo_id, ctx.now())
    await ctx.audit("problem.close", f"problem:{problem_id}", {"photo": photo_id})
    if ctx.state is not None:
        await ctx.clear_state()
    return [
        Reply(T.RECTIFY_DONE.format(id=problem_id, name=problem.household_name, kind=problem.kind))
    ]


async def cmd_problems(ctx: Context, _args: str) -> list[Reply]:
    me = ctx.me
    if me.is_village:
        rows, total = await problem_store.open_list(
            ctx.session, village_ids=[me.region_id], limit=20
        )
    else:
        rows, total = await problem_store.open_list(
            ctx.session, village_ids=await ctx.my_village_ids(), limit=20
        )
    if not total:
        return [Reply(T.PROBLEMS_NONE)]
    lines = [
        T.PROBLEM_LINE.format(
            id=p.id,
            name=p.household_name,
            kind=p.kind,
            desc=p.description[:40],
            deadline=ctx.rules.local(p.deadline).strftime("%m-%d") if p.deadline else "—",
        )
        for p in rows
    ]
    if total > len(lines):
        lines.append(f"……还有 {total - len(lines)} 条")
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
