"""Domain rules that come from configuration: quotas, quiet hours, digest times.

A plain object so that handlers and tasks can use it without importing the service's config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

HOUSEHOLD_CATEGORIES = ("未脱贫户", "脱贫户", "脱贫不稳定户", "边缘易致贫户", "监测户", "一般户")

# Visits required per household per month, by category (一户一月几访). Configurable.
DEFAULT_VISIT_QUOTAS = {
    "未脱贫户": 3,
    "监测户": 3,
    "脱贫不稳定户": 3,
    "边缘易致贫户": 3,
    "脱贫户": 1,
    "一般户": 0,
}

QUOTA_MAX = 31  # visits a month: at most one a day when counted per day


class VisitCount(StrEnum):
    """What counts toward a household's monthly quota: each day with a visit (two visits the
    same day, e.g. a report and its correction or two cadres together, count once), or each
    visit."""

    DAY = "day"
    VISIT = "visit"


@dataclass(frozen=True)
class QuotaPolicy:
    """The monthly visit quota rule every reader applies (storage.readmodels.coverage): the
    quota of a household follows its category (``defaults``, overridden per county, township
    or village in the ``visit_quotas`` table), and ``count`` says what counts toward it."""

    defaults: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_VISIT_QUOTAS))
    count: VisitCount = VisitCount.DAY


# Photos and a location sent this long before or after a visit report attach to it.
PHOTO_WINDOW = timedelta(minutes=10)

END_OF_WORKDAY = time(18, 0)  # a deadline given as a day means this hour of it


def parse_hhmm(value: str) -> time:
    try:
        hour, minute = value.strip().split(":")
        return time(int(hour), int(minute))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"expected HH:MM, got {value!r}") from exc


def parse_quiet_hours(value: str) -> tuple[time, time]:
    """``"21:30-07:30"`` -> (start, end); an empty string or ``off`` disables quiet hours."""
    if value.strip().lower() in ("", "off", "none"):
        return time(0, 0), time(0, 0)
    try:
        start, end = value.split("-")
    except ValueError as exc:
        raise ValueError(f"expected HH:MM-HH:MM, got {value!r}") from exc
    return parse_hhmm(start), parse_hhmm(end)


@dataclass(frozen=True)
class Rules:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    quiet_start: time = time(21, 30)
    quiet_end: time = time(7, 30)
    morning_digest: time = time(7, 30)
    evening_digest: time = time(20, 0)
    visit_quotas: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_VISIT_QUOTAS))
    visit_count: VisitCount = VisitCount.DAY
    rectify_days: int = 15
    escalate_after_hours: int = 24
    delivery_max_attempts: int = 8
    # A county with more bulk pushes than this due and waiting has its bulk paused (replies
    # and other counties go on) until the backlog is back to it (tasks.delivery).
    county_backlog_pause: int = 50_000
    media_dir: Path = Path("./var/media")
    public_url: str = "http://127.0.0.1:8080"
    push_channel: str = "last"  # last | webchat | wecom | telegram
    # Key of the signed download links of task attachments (services.attachment_links);
    # empty: links carry no signature and need a signed-in chat browser or console session.
    file_link_key: bytes = field(default=b"", repr=False)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.timezone)

    def rectify_deadline(self, now: datetime) -> datetime:
        """End of the working day (18:00 local), ``rectify_days`` after ``now``."""
        day = self.local(now).date() + timedelta(days=self.rectify_days)
        return datetime.combine(day, END_OF_WORKDAY, tzinfo=self.timezone).astimezone(UTC)

    @property
    def quota_policy(self) -> QuotaPolicy:
        return QuotaPolicy(dict(self.visit_quotas), self.visit_count)

    def in_quiet_hours(self, at: datetime) -> bool:
        if self.quiet_start == self.quiet_end:
            return False
        t = self.local(at).time()
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= t < self.quiet_end
        return t >= self.quiet_start or t < self.quiet_end

    def after_quiet_hours(self, at: datetime) -> datetime:
        """The first moment at or after ``at`` that is outside quiet hours (UTC-aware)."""
        if not self.in_quiet_hours(at):
            return at
        local = self.local(at)
        end = local.replace(
            hour=self.quiet_end.hour, minute=self.quiet_end.minute, second=0, microsecond=0
        )
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(at.tzinfo)
