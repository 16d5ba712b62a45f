"""Monthly visit tracking in chat: 本月走访, 未走访 (paged), and the 导出 ledger link.

The figures and the scope checks are services.progress and services.reports; this module
parses the words and buttons and renders the replies.
"""

from __future__ import annotations

from dataclasses import replace

from core.errors import Refused
from core.messages import Button, Reply, paged
from core.payloads import DuePage, DueVillagePage
from core.roles import STAFF_ROLES, VILLAGE_ROLES, Level
from handlers import visit_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.visit_common import month_arg
from services import console_auth, reports, scope
from services import progress as service
from storage.readmodels.coverage import Coverage, HouseholdProgress

EXPORTS_PAGE = "/console/exports"

DUE_PAGE = 15
PROGRESS_SHOWN = 10
MORE_DUE = "……还有 {n} 户"


async def cmd_progress(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    month = month_arg(ctx, args)
    policy = ctx.rules.quota_policy
    if me.region_level == Level.VILLAGE:
        village = await service.village_due(ctx.session, me, None, month, policy)
        lines = [_cov_line(T.PROGRESS_HEAD, me.region_name, month, village.coverage)]
        due = village.due
        if not due:
            lines.append(T.PROGRESS_DONE)
        else:
            lines.append(T.PROGRESS_DUE)
            lines += [_due_line(p) for p in due[:PROGRESS_SHOWN]]
            if len(due) > PROGRESS_SHOWN:
                lines += [MORE_DUE.format(n=len(due) - PROGRESS_SHOWN), T.PROGRESS_MORE]
        return [Reply("\n".join(lines))]
    area = await service.area_progress(ctx.session, me, month, policy)
    lines = [_cov_line(T.STAFF_HEAD, me.region_name, month, area.total)]
    lines += paged([_staff_line(c) for c in area.parts], 20)
    lines.append(T.STAFF_DUE_HINT)
    return [Reply("\n".join(lines))]


def _cov_line(template: str, name: str, month: str, c: Coverage) -> str:
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


def _staff_line(c: Coverage) -> str:
    return T.STAFF_LINE.format(
        name=c.name, met=c.households_met, due=c.households_due, pct=c.percent
    )


def _due_line(p: HouseholdProgress) -> str:
    return T.DUE_LINE.format(
        name=p.head_name, code=p.code, category=p.category, visited=p.visited, required=p.required
    )


async def cmd_due(ctx: Context, args: str) -> list[Reply]:
    me = ctx.me
    name = args.strip()
    if me.region_level == Level.VILLAGE:  # their own village only; another name is said so
        replies = await _due_page(ctx, 1, None)
        own = me.region_name or ""
        if name and not (own and name.endswith(own)):  # unknown and foreign alike: no oracle
            note = T.DUE_OWN_ONLY.format(q=name[:20], own=own)
            replies[0] = replace(replies[0], text=f"{note}\n{replies[0].text}")
        return replies
    if not name:
        return await cmd_progress(ctx, "")
    village_id = await service.find_village(ctx.session, me, name)
    if village_id is None:  # unknown and foreign alike, audited
        raise Refused(T.VILLAGE_UNKNOWN.format(q=name[:20]))
    return await _due_page(ctx, 1, village_id)


async def _due_page(ctx: Context, page: int, village_id: int | None) -> list[Reply]:
    """One page of a village's due list; ``None`` is the person's own village."""
    month = month_arg(ctx)
    village = await service.village_due(
        ctx.session, ctx.me, village_id, month, ctx.rules.quota_policy
    )
    due = village.due
    if not due:
        return [Reply(T.DUE_NONE.format(month=month))]
    pages = (len(due) + DUE_PAGE - 1) // DUE_PAGE
    page = min(max(page, 1), pages)
    chunk = due[(page - 1) * DUE_PAGE : page * DUE_PAGE]
    head = T.DUE_HEAD.format(month=month, n=len(due), page=page, pages=pages)
    if village_id is not None:
        head = f"{village.name} {head}"
    buttons: tuple[Button, ...] = ()
    if page < pages:
        if village_id is None:
            buttons = (DuePage(page + 1).button(T.NEXT_PAGE),)
        else:
            buttons = (DueVillagePage(village.village_id, page + 1).button(T.NEXT_PAGE),)
    return [Reply("\n".join([head, *(_due_line(p) for p in chunk)]), buttons)]


async def cmd_export(ctx: Context, args: str) -> list[Reply]:
    """A one-time sign-in link that lands on the console's 导出 page for the month: the file
    is made there in the background and downloaded by the person only."""
    me = ctx.me
    month = month_arg(ctx, args)
    region = await reports.ledger_region(ctx.session, me, me.region_id)
    link = await console_auth.issue_link(
        ctx.session,
        me,
        now=ctx.now(),
        public_url=ctx.rules.public_url,
        via="chat",
        to=f"{EXPORTS_PAGE}?month={month}",
    )
    return [
        Reply(
            T.EXPORT_READY.format(region=region.name, month=month),
            link=link.url,
            meta={"kind": "console_link"},
        )
    ]


async def on_due_village_button(ctx: Context, _rest: str) -> list[Reply]:
    pressed = DueVillagePage.parse(ctx.incoming.payload)
    if pressed is None:
        # A malformed id gets the words a foreign village gets.
        raise Refused(scope.SCOPE_REFUSED.format(region=ctx.me.region_name, what=service.WHAT))
    return await _due_page(ctx, pressed.page, pressed.village)


async def on_due_button(ctx: Context, _rest: str) -> list[Reply]:
    pressed = DuePage.parse(ctx.incoming.payload)
    return await _due_page(ctx, pressed.page if pressed else 1, None)


def register(registry: Registry) -> None:
    everyone = VILLAGE_ROLES | STAFF_ROLES
    registry.command(
        Command(("本月走访", "/progress"), cmd_progress, everyone, T.HELP_PROGRESS, order=11)
    )
    registry.command(Command(("未走访", "/due"), cmd_due, everyone, T.HELP_DUE, order=12))
    registry.command(
        Command(
            ("导出", "台账", "/export"), cmd_export, reports.LEDGER_ROLES, T.HELP_EXPORT, order=17
        )
    )
    registry.button(DuePage.PREFIX, on_due_button)
    registry.button(DueVillagePage.PREFIX, on_due_village_button)
