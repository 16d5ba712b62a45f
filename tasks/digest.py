"""Daily digests and the month-end visit nudge, computed with set-based queries.

Morning (each secretary): due today, overdue, returned, households still to visit this month,
unread notices. Evening (each county staff member): today's visits and problems per township,
overdue assignments per village, acknowledgement rate of today's broadcasts, the five villages
with the lowest visit coverage, pending policy questions, undeliverable and dead messages.

Catch-up design: a tick asks "whose digest for today is due and not yet queued?" (the
person's hour has passed and the key ``digest:{kind}:{person}:{date}`` is absent), so a digest
missed while the service was down goes out once when it is back, and two schedulers running
at once queue each digest once (the key is unique). Queries run per batch of people or per
county, never per person.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.channel import spread
from core.deadlines import show
from core.messages import Reply
from core.rules import Rules, parse_hhmm
from storage import outbox
from storage.models import (
    Assignment,
    Household,
    OutboxMessage,
    Person,
    Problem,
    Question,
    Region,
    Task,
    Visit,
)
from storage.tasks import OPEN

log = logging.getLogger(__name__)

# Village work-team members visit households too, so they get the morning digest as well.
MORNING_ROLES = ("secretary", "team_member")
EVENING_ROLES = ("county_staff",)
# A morning digest found due after this local time is stale; it is skipped for the day.
MORNING_LAST = time(18, 0)
NUDGE_DAY = 25
LIST_LIMIT = 5


@dataclass
class VillageVisits:
    """This month's visit standing of one village's households (quota from the rules)."""

    due: int = 0  # households with a quota > 0
    covered: int = 0  # households whose quota is met
    missing: list[str] = field(default_factory=list)  # head names still to visit

    @property
    def coverage(self) -> float:
        return self.covered / self.due if self.due else 1.0


def _day_bounds(now: datetime, rules: Rules) -> tuple[date, datetime, datetime]:
    local = rules.local(now)
    start = datetime.combine(local.date(), time(0), tzinfo=rules.timezone)
    return local.date(), start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def digest_key(kind: str, person_id: int, day: date) -> str:
    return f"digest:{kind}:{person_id}:{day:%Y%m%d}"


def _lines(items: list[str], limit: int = LIST_LIMIT) -> list[str]:
    shown = [f"  · {i}" for i in items[:limit]]
    if len(items) > limit:
        shown.append(f"  ……还有 {len(items) - limit} 项")
    return shown


async def visit_standing(
    session: AsyncSession, village_ids: list[int] | None, month: str, rules: Rules
) -> dict[int, VillageVisits]:
    """Per village: households with a monthly quota, how many met it, who is still due."""
    visits = (
        sa.select(Visit.household_id, sa.func.count().label("n"))
        .where(Visit.month == month, Visit.status == "active")
        .group_by(Visit.household_id)
        .subquery()
    )
    query = (
        sa.select(Household.village_id, Household.category, Household.head_name, visits.c.n)
        .outerjoin(visits, visits.c.household_id == Household.id)
        .where(Household.active)
        .order_by(Household.village_id, Household.id)
    )
    if village_ids is not None:
        query = query.where(Household.village_id.in_(village_ids))
    out: dict[int, VillageVisits] = defaultdict(VillageVisits)
    for village_id, category, head, n in await session.execute(query):
        quota = rules.quota(category)
        if quota <= 0:
            continue
        standing = out[village_id]
        standing.due += 1
        if (n or 0) >= quota:
            standing.covered += 1
        elif len(standing.missing) < 50:
            standing.missing.append(f"{head}（{n or 0}/{quota}）")
    return out


# --- which digests are due ---------------------------------------------------------------


async def _people(session: AsyncSession, roles: tuple[str, ...]) -> list[tuple[int, int, dict]]:
    rows = await session.execute(
        sa.select(Person.id, Person.region_id, Person.prefs)
        .where(Person.role.in_(roles), Person.active)
        .order_by(Person.id)
    )
    return [(pid, rid, dict(prefs or {})) for pid, rid, prefs in rows]


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


async def _missing_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these keys are not in the outbox yet (by the unique index, in chunks)."""
    present: set[str] = set()
    for start in range(0, len(keys), 2000):
        chunk = keys[start : start + 2000]
        present.update(
            await session.scalars(
                sa.select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(chunk)
                )
            )
        )
    return set(keys) - present


async def _due_people(
    session: AsyncSession,
    kind: str,
    roles: tuple[str, ...],
    default: time,
    now: datetime,
    rules: Rules,
) -> list[tuple[int, int]]:
    today, _, _ = _day_bounds(now, rules)
    local_time = rules.local(now).time()
    if kind == "morning" and local_time > MORNING_LAST:
        return []
    candidates = []
    for pid, region_id, prefs in await _people(session, roles):
        at = _due_time(prefs, kind, default)
        if at is not None and at <= local_time:
            candidates.append((pid, region_id))
    keys = {digest_key(kind, pid, today): (pid, rid) for pid, rid in candidates}
    missing = await _missing_keys(session, list(keys))
    return [keys[k] for k in keys if k in missing]


# --- morning -----------------------------------------------------------------------------


async def enqueue_morning(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """Queue every secretary's morning digest that is due today and not yet queued."""
    due = await _due_people(session, "morning", MORNING_ROLES, rules.morning_digest, now, rules)
    if not due:
        return 0
    today, day_start, day_end = _day_bounds(now, rules)
    person_ids = [pid for pid, _ in due]
    village_of = dict(due)
    items: dict[int, list[Any]] = defaultdict(list)
    for start in range(0, len(person_ids), 5000):
        chunk = person_ids[start : start + 5000]
        rows = await session.execute(
            sa.select(
                Assignment.assignee_id,
                Assignment.id,
                Assignment.status,
                Assignment.deadline,
                Task.kind,
                Task.title,
            )
            .join(Task, Task.id == Assignment.task_id)
            .where(
                Assignment.assignee_id.in_(chunk),
                Assignment.status.in_(OPEN),
                Task.status == "active",
                sa.or_(
                    Assignment.deadline < day_end,
                    Assignment.status == "returned",
                    Task.kind == "notice",
                ),
            )
            .order_by(Assignment.deadline)
        )
        for row in rows:
            items[row[0]].append(row)
    standing = await visit_standing(
        session, list(set(village_of.values())), f"{today:%Y-%m}", rules
    )
    rows_out = []
    for pid, village_id in due:
        body = _morning_body(items.get(pid, []), standing.get(village_id), now, day_start, rules)
        key = digest_key("morning", pid, today)
        rows_out.append(
            {
                "recipient_id": pid,
                "body": body,
                "idempotency_key": key,
                "not_before": spread(key, len(due), rules.after_quiet_hours(now)),
            }
        )
    return await outbox.enqueue_many(session, rows_out, now)


def _morning_body(
    rows: list[Any],
    visits: VillageVisits | None,
    now: datetime,
    day_start: datetime,
    rules: Rules,
) -> dict[str, Any]:
    due_today, overdue, returned, notices = [], [], [], []
    for _pid, aid, status, deadline, kind, title in rows:
        label = f"{aid}. {title}"
        if kind == "notice":
            if status == "pending":
                notices.append(label)
        elif status == "returned" and (deadline is None or deadline >= now):
            returned.append(f"{label}（截止 {show(deadline, rules.timezone)}）")
        elif deadline is not None and deadline < now:
            overdue.append(f"{label}（截止 {show(deadline, rules.timezone)}）")
        elif deadline is not None and deadline >= day_start:
            due_today.append(f"{label}（{rules.local(deadline):%H:%M} 前）")
    lines = [f"☀️ 早报 {rules.local(now):%m月%d日}"]
    for head, group in (
        ("今天到期", due_today),
        ("已逾期", overdue),
        ("被退回需重办", returned),
        ("未读通知", notices),
    ):
        if group:
            lines += [f"{head} {len(group)} 项：", *_lines(group)]
    if visits and visits.due:
        still = visits.due - visits.covered
        if still:
            lines += [f"本月还需走访 {still} 户（共 {visits.due} 户）：", *_lines(visits.missing)]
        else:
            lines.append(f"本月 {visits.due} 户走访已全部完成 👍")
    if len(lines) == 1:
        lines.append("今天没有到期或逾期的任务。")
    lines.append("发送「任务」查看全部；「设置 早报 关」可关闭早报。")
    return Reply("\n".join(lines), meta={"kind": "digest", "digest": "morning"}).to_dict()


# --- evening -----------------------------------------------------------------------------


@dataclass
class CountyDay:
    visits_by_town: dict[str, int] = field(default_factory=dict)
    problems_by_town: dict[str, int] = field(default_factory=dict)
    overdue_by_village: list[tuple[str, int]] = field(default_factory=list)
    unassigned: int = 0
    broadcasts: int = 0
    ack_done: int = 0
    ack_total: int = 0
    lowest: list[tuple[str, float, int]] = field(default_factory=list)
    pending_questions: int = 0
    undeliverable: list[str] = field(default_factory=list)


async def county_day(
    session: AsyncSession, county_id: int, now: datetime, rules: Rules
) -> CountyDay:
    """Everything the evening digest says about one county (a fixed number of queries)."""
    today, day_start, day_end = _day_bounds(now, rules)
    town = aliased(Region)
    villages = (
        await session.execute(
            sa.select(Region.id, Region.name, town.name)
            .join(town, town.id == Region.parent_id)
            .where(town.parent_id == county_id, Region.level == "village")
        )
    ).all()
    town_of = {vid: tname for vid, _, tname in villages}
    name_of = {vid: vname for vid, vname, _ in villages}
    village_ids = list(name_of)
    out = CountyDay()
    if not village_ids:
        return out
    for model, stamp, target in (
        (Visit, Visit.visited_at, out.visits_by_town),
        (Problem, Problem.found_at, out.problems_by_town),
    ):
        rows = await session.execute(
            sa.select(model.village_id, sa.func.count())
            .where(model.village_id.in_(village_ids), stamp >= day_start, stamp < day_end)
            .where(Visit.status == "active" if model is Visit else Problem.status != "void")
            .group_by(model.village_id)
        )
        for vid, n in rows:
            target[town_of[vid]] = target.get(town_of[vid], 0) + n
    rows = await session.execute(
        sa.select(
            Assignment.village_id,
            sa.func.count(),
            sa.func.sum(sa.case((Assignment.assignee_id.is_(None), 1), else_=0)),
        )
        .join(Task, Task.id == Assignment.task_id)
        .where(
            Task.county_id == county_id,
            Task.status == "active",
            Assignment.status.in_(OPEN),
            Assignment.deadline < now,
        )
        .group_by(Assignment.village_id)
    )
    overdue = [(name_of.get(vid, str(vid)), n, int(u or 0)) for vid, n, u in rows]
    overdue.sort(key=lambda r: (-r[1], r[0]))
    out.overdue_by_village = [(name, n) for name, n, _ in overdue]
    out.unassigned = int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .join(Task, Task.id == Assignment.task_id)
            .where(
                Task.county_id == county_id,
                Task.status == "active",
                Assignment.status.in_(OPEN),
                Assignment.assignee_id.is_(None),
            )
        )
        or 0
    )
    ack = (
        await session.execute(
            sa.select(
                sa.func.count(sa.distinct(Task.id)),
                sa.func.count(Assignment.id),
                sa.func.sum(sa.case((Assignment.status != "pending", 1), else_=0)),
            )
            .join(Assignment, Assignment.task_id == Task.id)
            .where(
                Task.county_id == county_id,
                Task.kind.in_(("task", "notice")),
                Task.created_at >= day_start,
                Task.created_at < day_end,
            )
        )
    ).one()
    out.broadcasts, out.ack_total, out.ack_done = (
        int(ack[0] or 0),
        int(ack[1] or 0),
        int(ack[2] or 0),
    )
    standing = await visit_standing(session, village_ids, f"{today:%Y-%m}", rules)
    ranked = sorted(
        ((name_of[v], s.coverage, s.due) for v, s in standing.items() if s.due),
        key=lambda r: (r[1], r[0]),
    )
    out.lowest = ranked[:5]
    out.pending_questions = int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(Question)
            .where(Question.county_id == county_id, Question.status == "pending")
        )
        or 0
    )
    region_ids = [county_id, *village_ids, *{t for t in await _towns(session, county_id)}]
    bad = await session.execute(
        sa.select(Person.name, OutboxMessage.status, sa.func.count())
        .join(Person, Person.id == OutboxMessage.recipient_id)
        .where(
            OutboxMessage.status.in_(("dead", "undeliverable")),
            OutboxMessage.created_at >= day_start - timedelta(days=1),
            Person.region_id.in_(region_ids),
        )
        .group_by(Person.name, OutboxMessage.status)
        .order_by(sa.func.count().desc())
    )
    zh = {"dead": "发送失败", "undeliverable": "无联系方式"}
    out.undeliverable = [f"{name}（{zh.get(status, status)} {n} 条）" for name, status, n in bad]
    return out


async def _towns(session: AsyncSession, county_id: int) -> list[int]:
    return list(await session.scalars(sa.select(Region.id).where(Region.parent_id == county_id)))


def _evening_body(day: CountyDay, now: datetime, rules: Rules) -> dict[str, Any]:
    lines = [f"🌙 晚报 {rules.local(now):%m月%d日}"]
    towns = sorted(set(day.visits_by_town) | set(day.problems_by_town))
    if towns:
        lines.append("今日走访 / 发现问题（按乡镇）：")
        lines += _lines(
            [
                f"{t}：走访 {day.visits_by_town.get(t, 0)} 户，问题 {day.problems_by_town.get(t, 0)} 个"
                for t in towns
            ],
            10,
        )
    else:
        lines.append("今日没有走访记录。")
    if day.overdue_by_village:
        total = sum(n for _, n in day.overdue_by_village)
        lines.append(f"逾期未完成 {total} 项（按村）：")
        lines += _lines([f"{name} {n} 项" for name, n in day.overdue_by_village])
    if day.unassigned:
        lines.append(f"无人接收的任务 {day.unassigned} 项（村里没有第一书记）。")
    if day.broadcasts:
        rate = day.ack_done / day.ack_total if day.ack_total else 0
        lines.append(
            f"今日发出 {day.broadcasts} 项任务/通知，确认收到 {day.ack_done}/{day.ack_total}（{rate:.0%}）。"
        )
    if day.lowest:
        lines.append("本月走访覆盖率最低的村：")
        lines += _lines([f"{name} {cov:.0%}（{n} 户）" for name, cov, n in day.lowest])
    if day.pending_questions:
        lines.append(f"待人工答复的政策问题 {day.pending_questions} 个。")
    if day.undeliverable:
        lines.append("消息未送达：")
        lines += _lines(day.undeliverable)
    lines.append("发送「进度」查看任务，「死信」查看未送达消息。")
    return Reply("\n".join(lines), meta={"kind": "digest", "digest": "evening"}).to_dict()


async def enqueue_evening(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """Queue each county staff member's evening digest (computed once per county)."""
    due = await _due_people(session, "evening", EVENING_ROLES, rules.evening_digest, now, rules)
    if not due:
        return 0
    today, _, _ = _day_bounds(now, rules)
    bodies: dict[int, dict[str, Any]] = {}
    rows = []
    for pid, county_id in due:
        if county_id not in bodies:
            bodies[county_id] = _evening_body(
                await county_day(session, county_id, now, rules), now, rules
            )
        rows.append(
            {
                "recipient_id": pid,
                "body": bodies[county_id],
                "idempotency_key": digest_key("evening", pid, today),
                "not_before": rules.after_quiet_hours(now),
            }
        )
    return await outbox.enqueue_many(session, rows, now)


# --- month-end visit nudge ---------------------------------------------------------------


async def enqueue_visit_nudges(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """From the 25th, remind each secretary once a month of households still due."""
    local = rules.local(now)
    if local.day < NUDGE_DAY or local.time() < time(9, 0):
        return 0
    month = f"{local:%Y-%m}"
    people = await _people(session, MORNING_ROLES)
    keys = {f"nudge:visits:{pid}:{month}": (pid, rid) for pid, rid, _ in people}
    missing = await _missing_keys(session, list(keys))
    if not missing:
        return 0
    todo = [keys[k] for k in keys if k in missing]
    standing = await visit_standing(session, list({rid for _, rid in todo}), month, rules)
    rows = []
    for pid, village_id in todo:
        s = standing.get(village_id)
        if not s or s.due == s.covered:
            continue
        text = "\n".join(
            [
                f"📅 本月还剩几天，还有 {s.due - s.covered} 户没有走访够次数：",
                *_lines(s.missing, 10),
                "走访后发送「走访 户主姓名」记录。",
            ]
        )
        key = f"nudge:visits:{pid}:{month}"
        rows.append(
            {
                "recipient_id": pid,
                "body": Reply(text, meta={"kind": "nudge"}).to_dict(),
                "idempotency_key": key,
                "not_before": spread(key, len(todo), rules.after_quiet_hours(now)),
            }
        )
    return await outbox.enqueue_many(session, rows, now) if rows else 0
