"""Daily digests: who is due one, and what it says, rendered over the read models.

Morning (each village cadre): due today, due in the next few days, overdue, returned, unread
notices (each line with the command that acts on it: 提交 N, 任务 N), households still to visit
this month; the closing hint names only commands for what was listed. Evening (each county
staff member): the county's day (storage.readmodels.county_day): today's visits and problems
per township, overdue assignments per village, acknowledgement rate of today's broadcasts, the
five villages with the lowest visit coverage, pending policy questions, undeliverable and dead
messages.

Catch-up design: a tick asks "whose digest for today is due and not yet queued?", so a digest
missed while the service was down goes out once when it is back. It does not read everyone's
preferences each minute: each person carries when the job next needs to look at them
(``people.morning_next_at`` / ``evening_next_at``: their hour tomorrow once today's is queued,
their hour today while it has not come, tomorrow's start while the digest is off; reset when
their digest settings change), and a tick reads only people whose time has come, through an
index (``storage.digest_due``). The work goes in chunks of person ids, each one transaction;
two schedulers at once split the chunks (an advisory lock per chunk on PostgreSQL) and the
outbox key ``core.keys.digest(kind, person, day)`` is unique, so each digest is queued once.
Queries run per chunk of people or per county, never per person.

A changed default hour (``CUNBOT_MORNING_DIGEST``) moves later digests at once; moved earlier,
it applies from the day after the people on the default were last queued.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core import keys
from core.channel import spread
from core.deadlines import show
from core.messages import Reply
from core.numbers import task_ref
from core.privacy import mask_pii
from core.roles import Role
from core.rules import Rules, parse_hhmm
from core.statuses import AssignmentStatus, TaskKind
from storage import digest_due
from storage.readmodels import coverage
from storage.readmodels.county_day import CountyDay, Day, county_day
from storage.readmodels.coverage import Coverage, HouseholdProgress
from storage.readmodels.morning import MorningItem, morning_items
from storage.readmodels.recipients import Recipient
from storage.session import AsyncSession
from tasks import digest_texts as T

log = logging.getLogger(__name__)

# Village work-team members visit households too, so they get the morning digest as well.
# (storage.models.DIGEST_WHO says the same as the predicate of the index the ticks read.)
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


def _next_look(r: Recipient, kind: str, default: time, now: datetime, rules: Rules) -> Due:
    """Is this person's digest due now, and when to look at them next: their hour tomorrow
    once it is queued, their hour today when it has not come, tomorrow's start when off."""
    today = rules.local(now).date()
    at = _due_time(r.prefs, kind, default)
    if at is None:
        return Due(False, _local_instant(today + timedelta(days=1), time(0), rules))
    if at > rules.local(now).time():
        return Due(False, _local_instant(today, at, rules))
    return Due(True, _local_instant(today + timedelta(days=1), at, rules))


@dataclass(frozen=True)
class Due:
    now: bool
    next_look: datetime


def _local_instant(day: date, at: time, rules: Rules) -> datetime:
    return datetime.combine(day, at, tzinfo=rules.timezone).astimezone(UTC)


@dataclass(frozen=True)
class Pending:
    """The people whose next look has come, in id order: what one tick works through, in
    chunks (each its own transaction in the scheduler). ``count`` sizes the spread window."""

    kind: digest_due.Kind
    ids: list[int]

    @property
    def count(self) -> int:
        return len(self.ids)

    def chunks(self) -> list[tuple[int, list[int]]]:
        """The ids by chunk (``digest_due.SPAN`` ids each), in order: what one transaction
        takes, and what a second scheduler at once skips while this one holds it."""
        out: dict[int, list[int]] = {}
        for pid in self.ids:
            out.setdefault(pid // digest_due.SPAN, []).append(pid)
        return list(out.items())


async def pending(
    session: AsyncSession, kind: digest_due.Kind, now: datetime, rules: Rules
) -> Pending:
    """Who the digest job must look at now (an index range: nobody on most minutes)."""
    if kind == "morning" and rules.local(now).time() > MORNING_LAST:
        return Pending(kind, [])  # stale for today; tomorrow's first tick looks again
    return Pending(kind, await digest_due.due_ids(session, kind, now))


async def _claim_due(
    session: AsyncSession, kind: digest_due.Kind, ids: list[int], now: datetime, rules: Rules
) -> list[digest_due.Due]:
    """Settle when each of this chunk's people is next looked at, and return those whose
    digest is due now (the outbox key keeps one per person and day). Once the default hour
    has come, the people who keep it are settled by one statement; the others are read with
    their preferences."""
    default = rules.morning_digest if kind == "morning" else rules.evening_digest
    due: list[digest_due.Due] = []
    rest = ids
    if default <= rules.local(now).time():
        tomorrow = rules.local(now).date() + timedelta(days=1)
        due = await digest_due.settle_default(
            session, kind, ids, now, _local_instant(tomorrow, default, rules)
        )
        settled = {r.person_id for r in due}
        rest = [pid for pid in ids if pid not in settled]
    if not rest:
        return due
    moves: dict[datetime, list[int]] = defaultdict(list)
    for r in await digest_due.claim(session, kind, rest, now):
        look = _next_look(r, kind, default, now, rules)
        moves[look.next_look].append(r.person_id)
        if look.now:
            due.append(digest_due.Due(r.person_id, r.region_id))
    await digest_due.set_next(session, kind, moves)
    return due


async def enqueue_chunk(
    session: AsyncSession, todo: Pending, chunk: tuple[int, list[int]], now: datetime, rules: Rules
) -> int:
    """Queue the due digests of one chunk of ``todo`` (one transaction); nothing when another
    scheduler is working on that chunk now."""
    number, ids = chunk
    if not await digest_due.take_chunk(session, todo.kind, number):
        return 0
    due = await _claim_due(session, todo.kind, ids, now, rules)
    if not due:
        return 0
    if todo.kind == "morning":
        bulk = await _morning_rows(session, due, todo.count, now, rules)
        return await digest_due.enqueue_bulk(session, bulk, now)
    return await digest_due.enqueue(session, await _evening_rows(session, due, now, rules), now)


async def enqueue_pending(
    session: AsyncSession, kind: digest_due.Kind, now: datetime, rules: Rules
) -> int:
    todo = await pending(session, kind, now, rules)
    return sum([await enqueue_chunk(session, todo, c, now, rules) for c in todo.chunks()])


# --- morning -----------------------------------------------------------------------------


async def enqueue_morning(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """Queue every village cadre's morning digest that is due today and not yet queued (in
    this one transaction; the scheduler commits chunk by chunk)."""
    return await enqueue_pending(session, "morning", now, rules)


async def _morning_rows(
    session: AsyncSession, due: list[digest_due.Due], count: int, now: datetime, rules: Rules
) -> digest_due.Bulk:
    today, day = local_day(now, rules)
    until = day.end + timedelta(days=DUE_SOON_DAYS)
    items = await morning_items(session, [r.person_id for r in due], until)
    standing = await village_standing(session, sorted({r.region_id for r in due}), day.month, rules)
    start = rules.after_quiet_hours(now).astimezone(UTC).replace(tzinfo=None)  # as stored
    text = MorningText(now, day, rules)
    out = digest_due.Bulk()
    no_items: list[MorningItem] = []
    body = text.body_json
    prefix, suffix = keys.digest("morning", 0, today).split(":0:")
    for r in due:
        pid = r.person_id
        key = f"{prefix}:{pid}:{suffix}"  # keys.digest("morning", pid, today), day formatted once
        out.recipients.append(pid)
        out.bodies.append(body(items.get(pid, no_items), standing.get(r.region_id)))
        out.keys.append(key)
        out.not_before.append(spread(key, count, start))
    return out


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


_GROUPS = (T.DUE_TODAY, T.DUE_SOON, T.OVERDUE, T.RETURNED, T.NOTICES)
_MORNING_META = {"kind": "digest", "digest": "morning"}


def _json(line: str) -> str:
    """``line`` as it stands inside a JSON string (json.dumps' escapes, without the quotes).
    Escaping goes character by character, so escaped lines joined by ``\\n`` are the
    escaped text of the lines joined by a line break."""
    return json.dumps(line, ensure_ascii=False)[1:-1]


_MORNING_JSON = ('{"text": "', '", "meta": ' + json.dumps(_MORNING_META) + "}")


class MorningText:
    """Renders the morning digests of one tick straight to the outbox body's JSON text. Each
    distinct part (an item list, a village's visit lines, the head and foot) is built, masked
    and escaped once, so a person's body is a few lookups and one concatenation: at a million
    people the text is what costs. The text equals ``Reply("\n".join(lines)).text`` because
    masking is line by line (no phone or ID pattern spans a line break, and each looks only
    at digits on either side)."""

    def __init__(self, now: datetime, day: Day, rules: Rules) -> None:
        self.day, self.rules = day, rules
        self.head = _json(mask_pii(T.MORNING_HEAD.format(at=rules.local(now))))
        self._lines: dict[tuple[Any, ...], str] = {}
        self._items: dict[tuple[Any, ...], tuple[str, str]] = {}
        # per list of items (what the lines depend on): the escaped lines, and whether a
        # group was cut short
        self._lists: dict[tuple[Any, ...], tuple[str, bool]] = {}
        self._visits: dict[int, tuple[VillageStanding, str]] = {}

    def _line(self, *key: Any) -> str:
        got = self._lines.get(key)
        if got is None:
            kind, *args = key
            if kind == "head":
                head, n = args
                shown = T.SOON_HEAD if head == T.DUE_SOON else T.GROUP_HEAD
                raw = shown.format(head=head, n=n, days=DUE_SOON_DAYS)
            elif kind == "more":
                raw = T.MORE.format(n=args[0])
            elif kind == "foot":
                raw = T.morning_foot(tasks_cut=args[0], households=args[1])
            else:
                raw = T.NOTHING_DUE
            got = self._lines[key] = _json(mask_pii(raw))
        return got

    def _item(self, i: MorningItem) -> tuple[str, str]:
        key = i[1:6]
        got = self._items.get(key)
        if got is None:
            head, line = _task_line(i, self.day, self.rules)
            got = self._items[key] = (head, _json(mask_pii(T.BULLET.format(item=line))))
        return got

    def _list(self, items: list[MorningItem]) -> tuple[str, bool]:
        """The lines after the head for these items (each after a line break), and whether
        a group was cut short."""
        key = tuple([i[1:6] for i in items])
        got = self._lists.get(key)
        if got is not None:
            return got
        groups: dict[str, list[str]] = {head: [] for head in _GROUPS}
        for i in items:
            if i.kind == TaskKind.NOTICE and i.status != AssignmentStatus.PENDING:
                continue  # a notice already acknowledged needs nothing more
            head, bullet = self._item(i)
            groups[head].append(bullet)
        lines: list[str] = []
        cut = False
        for head, group in groups.items():
            if group:
                cut = cut or len(group) > T.LIST_LIMIT
                lines.append(self._line("head", head, len(group)))
                lines += group[: T.LIST_LIMIT]
                if len(group) > T.LIST_LIMIT:
                    lines.append(self._line("more", len(group) - T.LIST_LIMIT))
        if not lines:
            lines.append(self._line("nothing"))
        got = self._lists[key] = ("".join("\\n" + line for line in lines), cut)
        return got

    def _visit_lines(self, standing: VillageStanding) -> str:
        got = self._visits.get(id(standing))
        if got is None:  # the standing is kept with its lines, so its id is not reused
            lines = [_json(mask_pii(line)) for line in _visit_lines(standing)]
            got = self._visits[id(standing)] = (standing, "".join("\\n" + x for x in lines))
        return got[1]

    def body_json(self, items: list[MorningItem], standing: VillageStanding | None) -> str:
        """One person's digest as the outbox body's JSON text."""
        listed, cut = self._list(items)
        visits = self._visit_lines(standing) if standing is not None else ""
        foot = self._line("foot", cut, bool(standing and standing.short))
        return f"{_MORNING_JSON[0]}{self.head}{listed}{visits}\\n{foot}{_MORNING_JSON[1]}"

    def body(self, items: list[MorningItem], standing: VillageStanding | None) -> dict[str, Any]:
        """One person's digest as the outbox body."""
        got: dict[str, Any] = json.loads(self.body_json(items, standing))
        return got


def _visit_lines(standing: VillageStanding) -> list[str]:
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
    """One person's morning digest (``MorningText`` renders a tick's many at once)."""
    return MorningText(now, day, rules).body(items, standing)


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
    return await enqueue_pending(session, "evening", now, rules)


async def _evening_rows(
    session: AsyncSession, due: list[digest_due.Due], now: datetime, rules: Rules
) -> list[dict[str, Any]]:
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
    return rows
