"""The deadline reminder schedule, as pure functions of a deadline, its offsets and the rules.

One entry per reminder offset before the deadline (``3d`` = the morning three days before,
``0d`` = the deadline morning, ``6h`` = six hours before), then one entry each morning while
overdue (``od20261206``). Creating a task stores its first entry (``first_remind_at``); the clock
job's scan (``tasks/reminders.py``) walks the rest. Pure, so the use cases and the scan share it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from core.rules import Rules

DEFAULT_OFFSETS = ("3d", "1d", "0d")
REMIND_TIME = time(8, 0)  # local time of "morning" reminders
MAX_OVERDUE_DAYS = 60  # stop chasing daily after two months; the digest still lists it
_OFFSET = re.compile(r"^(\d{1,3})([dh])$")


def valid_offset(value: str) -> bool:
    m = _OFFSET.match(value.strip())
    return m is not None and (m.group(2) == "h" or int(m.group(1)) <= 60)


def _morning(day: date, rules: Rules) -> datetime:
    return rules.after_quiet_hours(datetime.combine(day, REMIND_TIME, tzinfo=rules.timezone))


def schedule(
    deadline: datetime, offsets: Sequence[str], rules: Rules, *, through: datetime
) -> list[tuple[str, datetime]]:
    """Every entry from the first reminder up to ``through`` (overdue days included), sorted."""
    deadline_day = rules.local(deadline).date()
    entries: list[tuple[str, datetime]] = []
    for offset in offsets:
        m = _OFFSET.match(str(offset).strip())
        if not m:
            continue
        n, unit = int(m.group(1)), m.group(2)
        if unit == "d":
            at = _morning(deadline_day - timedelta(days=n), rules)
        else:
            at = rules.after_quiet_hours(deadline - timedelta(hours=n))
        if at < deadline:  # a reminder pushed past the deadline by quiet hours is pointless
            entries.append((str(offset), at))
    day = deadline_day + timedelta(days=1)
    last = min(rules.local(through).date(), deadline_day + timedelta(days=MAX_OVERDUE_DAYS))
    while day <= last:
        entries.append((f"od{day:%Y%m%d}", _morning(day, rules)))
        day += timedelta(days=1)
    entries.sort(key=lambda e: e[1])
    return entries


def next_entry(
    deadline: datetime, offsets: Sequence[str], rules: Rules, after: datetime
) -> tuple[str, datetime] | None:
    """The first entry strictly after ``after`` (None once the chase is over)."""
    horizon = max(after, deadline) + timedelta(days=2)
    for label, at in schedule(deadline, offsets, rules, through=horizon):
        if at > after:
            return label, at
    return None


def first_remind_at(
    deadline: datetime | None, offsets: Sequence[str], rules: Rules, now: datetime
) -> datetime | None:
    """When a new assignment first needs the scan (stored at creation, so a 1,000-village
    task does not cost the scan 1,000 updates)."""
    if deadline is None:
        return None
    entry = next_entry(deadline, tuple(offsets) or DEFAULT_OFFSETS, rules, now)
    return entry[1] if entry else None
