"""Daily digests: who is due one, and what it says, rendered over the read models.

Morning (each village cadre): due today, due in the next few days, overdue, returned, unread
notices (each line with the command that acts on it: 提交 N, 任务 N), households still to visit
this month; the closing hint names only commands for what was listed. Evening (each county
staff member): the county's day (storage.readmodels.county_day): today's visits and problems
per township, overdue assignments per village, acknowledgement rate of today's broadcasts, the
five villages with the lowest visit coverage, pending policy questions, undeliverable and dead
messages.

Catch-up design: a tick asks "whose digest for today is due and not yet queued?" (the
person's hour has passed and the key ``core.keys.digest(kind, person, day)`` is absent), so a
digest missed while the service was down goes out once when it is back, and two schedulers
running at once queue each digest once (the key is unique). Queries run per batch of people
or per county, never per person.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core import keys
from core.channel import spread
from core.deadlines import show
from core.messages import Reply
from core.numbers import task_ref
from core.roles import Role
from core.rules import Rules, parse_hhmm
from core.statuses import AssignmentStatus, TaskKind
from storage import outbox
from storage.readmodels import coverage
from storage.readmodels.county_day import CountyDay, Day, county_day
from storage.readmodels.coverage import Coverage, HouseholdProgress
from storage.readmodels.morning import MorningItem, morning_items
from storage.readmodels.recipients import Recipient, absent_keys, active_with_roles
from storage.session import AsyncSession
from tasks import digest_texts as T

log = logging.getLogger(__name__)

# Village work-team members visit households too, so they get the morning digest as well.
MORNING_ROLES = (Role.SECRETARY, Role.TEAM_MEMBER)
EVENING_ROLES = (Role.COUNTY_STAFF,)
# A morning digest found due after this local time is stale; it is skipped for the day.
MORNING_LAST = time(18, 0)
# Households listed per village at most (the digest shows five, the nudge ten).
SHORT_LISTED = 50
# Tasks due within this many days after today are listed as 即将到期 (the first reminder
# goes out three days before a deadline too).
DUE_SOON_DAYS = 3


@dataclass(frozen=True)
class VillageStanding:
    """This month's visit standing of one village: its coverage and who is still short."""

    coverage: Coverage
    short: list[HouseholdProgress] = field(default_factory=list)

    def short_lines(self) -> list[str]:
        return [
            T.HOUSEHOLD_SHORT.format(name=p.head_name, visited=p.visited, required=p.required)
            for p in self.short
        ]


def local_day(now: datetime, rules: Rules) -> tuple[date, Day]:
    """Today's local date, and the day as UTC bounds with its month."""
    local = rules.local(now)
    start = datetime.combine(local.date(), time(0), tzinfo=rules.timezone)
    day = Day(
        start=start.astimezone(UTC),
        end=(start + timedelta(days=1)).astimezone(UTC),
        month=f"{local:%Y-%m}",
        now=now,
    )
    return local.date(), day


async def village_standing(
    session: AsyncSession, village_ids: list[int], month: str, rules: Rules
) -> dict[int, VillageStanding]:
    """Per village with households due this month: its coverage and the first households short."""
    rows = await coverage.coverage_by_village(session, village_ids, month, rules.quota_policy)
    short = await coverage.households_short(
        session, village_ids, month, rules.quota_policy, SHORT_LISTED
    )
    return {
        c.region_id: VillageStanding(c, short.get(c.region_id, []))
        for c in rows
        if c.households_due
    }


# --- which digests are due ---------------------------------------------------------------


def _due_time(prefs: dict[str, Any], kind: str, default: time) -> time | None:
    if prefs.get(f"{kind}_digest_off"):
        return None
    raw = prefs.get(f"{kind}_digest")
    if raw:
        try:
            return parse_hhmm(str(raw))
        except ValueError:
            return default
    return default


async def _due_people(
    session: AsyncSession,
    kind: str,
    roles: Collection[str],
    default: time,
    now: datetime,
    rules: Rules,
) -> list[Recipient]:
    today, _ = local_day(now, rules)
    local_time = rules.local(now).time()
    if kind == "morning" and local_time > MORNING_LAST:
        return []
    candidates = {}
    for r in await active_with_roles(session, roles):
        at = _due_time(r.prefs, kind, default)
        if at is not None and at <= local_time:
            candidates[keys.digest(kind, r.person_id, today)] = r
    missing = await absent_keys(session, list(candidates))
    return [r for key, r in candidates.items() if key in missing]


# --- morning -----------------------------------------------------------------------------


async def enqueue_morning(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """Queue every village cadre's morning digest that is due today and not yet queued."""
    due = await _due_people(session, "morning", MORNING_ROLES, rules.morning_digest, now, rules)
    if not due:
        return 0
    today, day = local_day(now, rules)
    until = day.end + timedelta(days=DUE_SOON_DAYS)
    items = await morning_items(session, [r.person_id for r in due], until)
    standing = await village_standing(session, sorted({r.region_id for r in due}), day.month, rules)
    rows_out = []
    for r in due:
        body = morning_body(items.get(r.person_id, []), standing.get(r.region_id), now, day, rules)
        key = keys.digest("morning", r.person_id, today)
        rows_out.append(
            {
                "recipient_id": r.person_id,
                "body": body,
                "idempotency_key": key,
                "not_before": spread(key, len(due), rules.after_quiet_hours(now)),
            }
        )
    return await outbox.enqueue_many(session, rows_out, now)


def _task_line(i: MorningItem, day: Day, rules: Rules) -> tuple[str, str]:
    """The group an item is listed under and its line (with the command that acts on it)."""
    label = T.ITEM.format(ref=task_ref(i.kind, i.number), title=i.title)
    # a fix (整改) goes to review through 整改完成, everything else through 提交
    submit = (T.DO_FIX if i.kind == TaskKind.RECTIFY else T.DO_SUBMIT).format(id=i.number)
    deadline = i.deadline
    if i.kind == TaskKind.NOTICE:
        return T.NOTICES, label + T.DO_READ.format(id=i.number)
    if deadline is None:  # a returned task with no deadline
        return T.RETURNED, label + submit
    shown = show(deadline, rules.timezone)
    if i.status == AssignmentStatus.RETURNED and deadline >= day.now:
        return T.RETURNED, T.ITEM_DEADLINE.format(item=label, deadline=shown) + submit
    if deadline < day.now:
        return T.OVERDUE, T.ITEM_DEADLINE.format(item=label, deadline=shown) + submit
    if deadline < day.end:
        return T.DUE_TODAY, T.ITEM_TODAY.format(item=label, at=rules.local(deadline)) + submit
    return T.DUE_SOON, T.ITEM_DEADLINE.format(item=label, deadline=shown) + submit


def _task_groups(items: list[MorningItem], day: Day, rules: Rules) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {
        head: [] for head in (T.DUE_TODAY, T.DUE_SOON, T.OVERDUE, T.RETURNED, T.NOTICES)
    }
    for i in items:
        if i.kind == TaskKind.NOTICE and i.status != AssignmentStatus.PENDING:
            continue  # a notice already acknowledged needs nothing more
        head, line = _task_line(i, day, rules)
        groups[head].append(line)
    return list(groups.items())


def _visit_lines(standing: VillageStanding | None) -> list[str]:
    if standing is None:
        return []
    c = standing.coverage
    if c.short:
        return [
            T.VISITS_DUE.format(short=c.short, due=c.households_due),
            *T.bullets(standing.short_lines()),
        ]
    return [T.VISITS_DONE.format(due=c.households_due)]


def morning_body(
    items: list[MorningItem],
    standing: VillageStanding | None,
    now: datetime,
    day: Day,
    rules: Rules,
) -> dict[str, Any]:
    lines = [T.MORNING_HEAD.format(at=rules.local(now))]
    listed = cut = False
    for head, group in _task_groups(items, day, rules):
        if group:
            listed = True
            cut = cut or len(group) > T.LIST_LIMIT
            head_line = T.SOON_HEAD if head == T.DUE_SOON else T.GROUP_HEAD
            lines += [head_line.format(head=head, n=len(group), days=DUE_SOON_DAYS)]
            lines += T.bullets(group)
    lines += _visit_lines(standing)
    if not listed:
        lines.insert(1, T.NOTHING_DUE)
    lines.append(T.morning_foot(tasks_cut=cut, households=bool(standing and standing.short)))
    return Reply("\n".join(lines), meta={"kind": "digest", "digest": "morning"}).to_dict()


# --- evening -----------------------------------------------------------------------------


def _town_lines(day: CountyDay) -> list[str]:
    towns = sorted(set(day.visits_by_town) | set(day.problems_by_town))
    if not towns:
        return [T.NO_VISITS]
    return [
        T.TOWNS_HEAD,
        *T.bullets(
            [
                T.TOWN_LINE.format(
                    town=t,
                    visits=day.visits_by_town.get(t, 0),
                    problems=day.problems_by_town.get(t, 0),
                )
                for t in towns
            ],
            T.TOWNS_SHOWN,
        ),
    ]


def _task_lines(day: CountyDay) -> list[str]:
    lines = []
    if day.overdue_by_village:
        total = sum(n for _, n in day.overdue_by_village)
        lines.append(T.OVERDUE_HEAD.format(total=total))
        lines += T.bullets([T.OVERDUE_LINE.format(name=v, n=n) for v, n in day.overdue_by_village])
    if day.unassigned:
        lines.append(T.UNASSIGNED.format(n=day.unassigned))
    acks = day.acks
    if acks.broadcasts:
        rate = acks.done / acks.total if acks.total else 0
        lines.append(T.ACKS.format(n=acks.broadcasts, done=acks.done, total=acks.total, rate=rate))
    return lines


def evening_body(day: CountyDay, now: datetime, rules: Rules) -> dict[str, Any]:
    lines = [T.EVENING_HEAD.format(at=rules.local(now)), *_town_lines(day), *_task_lines(day)]
    if day.lowest:
        lines.append(T.LOWEST_HEAD)
        lines += T.bullets(
            [
                T.LOWEST_LINE.format(name=c.name, share=c.share, due=c.households_due)
                for c in day.lowest
            ]
        )
    if day.pending_questions:
        lines.append(T.QUESTIONS.format(n=day.pending_questions))
    if day.dead_letters:
        lines.append(T.DEAD_HEAD)
        lines += T.bullets(
            [
                T.DEAD_LINE.format(name=d.recipient, status=T.outbox_status(d.status), n=d.count)
                for d in day.dead_letters
            ]
        )
    lines.append(T.EVENING_FOOT)
    return Reply("\n".join(lines), meta={"kind": "digest", "digest": "evening"}).to_dict()


async def enqueue_evening(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """Queue each county staff member's evening digest (computed once per county)."""
    due = await _due_people(session, "evening", EVENING_ROLES, rules.evening_digest, now, rules)
    if not due:
        return 0
    today, day = local_day(now, rules)
    bodies: dict[int, dict[str, Any]] = {}
    rows = []
    for r in due:
        if r.region_id not in bodies:
            figures = await county_day(session, r.region_id, day, rules.quota_policy)
            bodies[r.region_id] = evening_body(figures, now, rules)
        rows.append(
            {
                "recipient_id": r.person_id,
                "body": bodies[r.region_id],
                "idempotency_key": keys.digest("evening", r.person_id, today),
                "not_before": rules.after_quiet_hours(now),
            }
        )
    return await outbox.enqueue_many(session, rows, now)
