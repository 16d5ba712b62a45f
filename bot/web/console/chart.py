"""A horizontal bar chart as plain numbers for an inline SVG (drawn by the template): no
script, no chart library, readable on a phone and printable."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.web.console import texts as T
from storage.readmodels.coverage import Coverage

# Sized for a phone (360 px wide at scale 1); the stylesheet caps it on a wide screen.
ROW = 24  # px per bar
LABEL = 78  # px for the name column
BAR = 196  # px for the bar at 100 %
WIDTH = LABEL + BAR + 86
MAX_BARS = 40  # the worst ones; the table below lists the rest


@dataclass(frozen=True)
class Bar:
    label: str
    share: float
    below: bool
    y: int
    width: float
    text: str
    href: str | None


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    height: int
    goal_x: float
    width: int = WIDTH
    label_width: int = LABEL
    bar_width: int = BAR
    more: int = 0  # rows left out


def coverage_chart(rows: list[Coverage], goal: float, href: dict[int, str] | None = None) -> Chart:
    """Bars of households that met their quota, worst first as given; below the goal: red."""
    shown = rows[:MAX_BARS]
    bars = [
        Bar(
            label=c.name if len(c.name) <= 5 else c.name[:4] + "…",
            share=c.share,
            below=c.share < goal,
            y=8 + i * ROW,
            width=round(BAR * c.share, 1),
            text=f"{c.share:.0%} {c.households_met}/{c.households_due}户",
            href=(href or {}).get(c.region_id),
        )
        for i, c in enumerate(shown)
    ]
    return Chart(
        bars, 16 + ROW * len(bars), round(LABEL + BAR * goal, 1), more=len(rows) - len(shown)
    )


# Visits per day of a month: one column per day, the empty ones drawn as an empty track.
DAY_LEFT = 30  # px for the count axis
DAY_W = 11  # px per day
DAY_TOP = 12
DAY_PLOT = 110  # px for the busiest day
DAY_TICKS = (1, 5, 10, 15, 20, 25)


@dataclass(frozen=True)
class DayColumn:
    day: int
    x: float
    y: float
    height: float
    count: int
    today: bool
    label: str  # the day number under the column, or "" (every few days, and today)
    title: str  # what a screen reader or a hover reads


@dataclass(frozen=True)
class DayChart:
    columns: list[DayColumn]
    peak: int
    total: int
    width: int
    height: int
    left: int = DAY_LEFT
    top: int = DAY_TOP
    plot: int = DAY_PLOT
    column_width: int = DAY_W - 2

    @property
    def base(self) -> int:
        return self.top + self.plot


def _day_label(day: int, last: int, today: bool) -> str:
    return str(day) if today or day == last or day in DAY_TICKS else ""


def day_chart(month: str, counts: dict[date, int], today: date) -> DayChart:
    """Columns for every day of ``month`` (``YYYY-MM``), scaled to the busiest day; a month
    without visits draws empty tracks only."""
    year, mon = (int(x) for x in month.split("-"))
    last = calendar.monthrange(year, mon)[1]
    days = [date(year, mon, d) for d in range(1, last + 1)]
    peak = max((counts.get(d, 0) for d in days), default=0)
    columns = []
    for i, d in enumerate(days):
        n = counts.get(d, 0)
        h = round(DAY_PLOT * n / peak, 1) if peak else 0.0
        columns.append(
            DayColumn(
                day=d.day,
                x=DAY_LEFT + i * DAY_W + 1,
                y=round(DAY_TOP + DAY_PLOT - h, 1),
                height=h,
                count=n,
                today=d == today,
                label=_day_label(d.day, last, d == today),
                title=T.PER_DAY_TITLE.format(m=mon, d=d.day, n=n),
            )
        )
    total = sum(c.count for c in columns)
    return DayChart(columns, peak, total, DAY_LEFT + last * DAY_W + 8, DAY_TOP + DAY_PLOT + 20)


# A task's progress: a step line per stage, from the time it was sent to now or its deadline.
STEP_LEFT = 34
STEP_TOP = 10
STEP_W = 300
STEP_H = 140


@dataclass(frozen=True)
class StepSeries:
    key: str
    label: str
    points: str  # an SVG polyline's points
    final: int
    end_x: float
    end_y: float


@dataclass(frozen=True)
class StepChart:
    series: list[StepSeries]
    total: int
    start_label: str
    end_label: str
    deadline_x: float | None
    now_x: float | None
    width: int = STEP_LEFT + STEP_W + 14
    height: int = STEP_TOP + STEP_H + 22
    left: int = STEP_LEFT
    top: int = STEP_TOP
    plot_width: int = STEP_W
    plot_height: int = STEP_H

    @property
    def base(self) -> int:
        return self.top + self.plot_height

    @property
    def right(self) -> int:
        return self.left + self.plot_width

    @property
    def finals(self) -> dict[str, int]:
        """stage -> villages that reached it by now (the counts at the lines' end)."""
        return {s.key: s.final for s in self.series}

    @property
    def label(self) -> str:
        return T.PROGRESS_LABEL.format(total=self.total, **self.finals)


@dataclass(frozen=True)
class _Axes:
    start: datetime
    span: float  # seconds
    total: int

    def x(self, at: datetime) -> float:
        share = (at - self.start).total_seconds() / self.span
        return round(STEP_LEFT + STEP_W * min(max(share, 0.0), 1.0), 1)

    def y(self, n: int) -> float:
        return round(STEP_TOP + STEP_H - STEP_H * n / max(self.total, 1), 1)


def _steps(
    axes: _Axes, key: str, events: list[tuple[datetime, int]], until: datetime
) -> StepSeries:
    points, done = [(axes.x(axes.start), axes.y(0))], 0
    for at, n in events:
        points.append((axes.x(at), axes.y(done)))
        done += n
        points.append((axes.x(at), axes.y(done)))
    end = (max(axes.x(until), points[-1][0]), axes.y(done))
    points.append(end)
    text = " ".join(f"{x},{y}" for x, y in points)
    return StepSeries(key, T.PROGRESS_ZH[key], text, done, end[0], end[1])


def progress_chart(
    progress: dict[str, list[tuple[datetime, int]]],
    total: int,
    sent: datetime,
    deadline: datetime | None,
    now: datetime,
    tz: ZoneInfo,
) -> StepChart:
    """Cumulative villages per stage (收到, 已提交, 已通过) out of ``total``, the time axis from
    ``sent`` to the later of now and the deadline; the deadline and now are marked."""
    end = max(now, deadline) if deadline else now
    axes = _Axes(sent, max((end - sent).total_seconds(), 1.0), total)
    series = [_steps(axes, key, progress.get(key, []), min(now, end)) for key in T.PROGRESS_ZH]
    on_axis = deadline is not None and deadline >= sent
    return StepChart(
        series,
        total,
        f"{sent.astimezone(tz):%m-%d}",
        f"{end.astimezone(tz):%m-%d}",
        axes.x(deadline) if deadline is not None and on_axis else None,
        axes.x(now) if now < end else None,
    )
