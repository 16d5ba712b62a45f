"""Monthly visit tracking in chat: 本月走访, 未走访 (paged), and the 导出 ledger link."""

from __future__ import annotations

import sqlalchemy as sa

from core.messages import Button, Reply, paged
from core.roles import STAFF_ROLES, VILLAGE_ROLES
from handlers import visit_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.visit_common import month_arg, village_of
from storage import regions
from storage import visits as store
from storage.models import Region

DUE_PAGE = 15


async def cmd_progress(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    month = month_arg(ctx, args)
    quotas = ctx.rules.visit_quotas
    if me.region_level == "village":
        progress = await store.village_progress(ctx.session, me.region_id, month, quotas)
        cov = store.summarize(progress, me.region_id, me.region_name)
        lines = [_cov_line(T.PROGRESS_HEAD, me.region_name, month, cov)]
        due = store.still_due(progress)
        if not due:
            lines.append(T.PROGRESS_DONE)
        else:
            lines.append(T.PROGRESS_DUE)
            lines += [_due_line(p) for p in due[:10]]
            if len(due) > 10:
                lines += [f"……还有 {len(due) - 10} 户", T.PROGRESS_MORE]
        return [Reply("\n".join(lines))]
    rows = await store.coverage_by_village(ctx.session, await ctx.my_village_ids(), month, quotas)
    total = store.roll_up(rows, me.region_id, me.region_name)
    lines = [_cov_line(T.STAFF_HEAD, me.region_name, month, total)]
    if me.region_level == "county":
        groups: dict[int, list[store.Coverage]] = {}
        parents = await _parents(ctx, [r.region_id for r in rows])
        for r in rows:
            groups.setdefault(parents[r.region_id], []).append(r)
        towns = [
            store.roll_up(g, tid, (await regions.get(ctx.session, tid)).name)  # type: ignore[union-attr]
            for tid, g in groups.items()
        ]
        body = [_staff_line(t) for t in sorted(towns, key=lambda c: c.percent)]
    else:
        body = [_staff_line(r) for r in sorted(rows, key=lambda c: c.percent)]
    lines += paged(body, 20)
    lines.append(T.STAFF_DUE_HINT)
    return [Reply("\n".join(lines))]


async def _parents(ctx: Context, village_ids: list[int]) -> dict[int, int]:
    rows = await ctx.session.execute(
        sa.select(Region.id, Region.parent_id).where(Region.id.in_(village_ids))
    )
    return {rid: pid for rid, pid in rows}


def _cov_line(template: str, name: str, month: str, c: store.Coverage) -> str:
    return template.format(
        village=name,
        region=name,
        month=month,
        met=c.households_met,
        due=c.households_due,
        pct=c.percent,
        done=c.visits_done,
        required=c.visits_required,
    )


def _staff_line(c: store.Coverage) -> str:
    return T.STAFF_LINE.format(
        name=c.name, met=c.households_met, due=c.households_due, pct=c.percent
    )


def _due_line(p: store.HouseholdProgress) -> str:
    return T.DUE_LINE.format(
        name=p.head_name, code=p.code, category=p.category, visited=p.visited, required=p.required
    )


async def cmd_due(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    if me.region_level == "village":
        return await _due_page(ctx, 1)
    name = args.strip()
    if not name:
        return await cmd_progress(ctx, "")
    for v in await regions.find(ctx.session, name, level="village"):
        if await regions.contains(ctx.session, me.region_id, v.id):
            return await _due_page(ctx, 1, v.id, v.name)
    return [Reply(T.VILLAGE_UNKNOWN.format(q=name[:20]))]


async def _due_page(
    ctx: Context, page: int, village_id: int | None = None, village_name: str = ""
) -> list[Reply]:
    if village_id is None:
        village_id = await village_of(ctx)
    await ctx.require_scope(village_id)
    month = month_arg(ctx)
    due = store.still_due(
        await store.village_progress(ctx.session, village_id, month, ctx.rules.visit_quotas)
    )
    if not due:
        return [Reply(T.DUE_NONE.format(month=month))]
    pages = (len(due) + DUE_PAGE - 1) // DUE_PAGE
    page = min(max(page, 1), pages)
    chunk = due[(page - 1) * DUE_PAGE : page * DUE_PAGE]
    head = T.DUE_HEAD.format(month=month, n=len(due), page=page, pages=pages)
    if village_name:
        head = f"{village_name} {head}"
    buttons: tuple[Button, ...] = ()
    if page < pages:
        payload = f"due:{page + 1}"
        if ctx.me.region_level != "village":
            payload = f"duev:{village_id}:{page + 1}"
        buttons = (Button(T.NEXT_PAGE, payload),)
    return [Reply("\n".join([head, *(_due_line(p) for p in chunk)]), buttons)]


async def cmd_export(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    month = month_arg(ctx, args)
    make_link = ctx.services.export_link
    if make_link is None:
        return [Reply(T.EXPORT_OFF)]
    url, hours = make_link(person_id=me.id, region_id=me.region_id, month=month)
    await ctx.audit("report.link", f"region:{me.region_id}", {"month": month})
    return [Reply(T.EXPORT_READY.format(region=me.region_name, month=month, hours=hours), link=url)]


async def on_due_village_button(ctx: Context, rest: str) -> list[Reply]:
    village_id, _, page = rest.partition(":")
    region = await regions.get(ctx.session, int(village_id))
    if region is None:
        return [Reply(T.VILLAGE_UNKNOWN.format(q=village_id))]
    return await _due_page(ctx, int(page or 1), region.id, region.name)


async def on_due_button(ctx: Context, rest: str) -> list[Reply]:
    return await _due_page(ctx, int(rest or 1))


def register(registry: Registry) -> None:
    everyone = VILLAGE_ROLES | STAFF_ROLES
    registry.command(
        Command(("本月走访", "/progress"), cmd_progress, everyone, T.HELP_PROGRESS, order=11)
    )
    registry.command(Command(("未走访", "/due"), cmd_due, everyone, T.HELP_DUE, order=12))
    registry.command(
        Command(("导出", "台账", "/export"), cmd_export, STAFF_ROLES, T.HELP_EXPORT, order=17)
    )
    registry.button("due", on_due_button)
    registry.button("duev", on_due_village_button)
