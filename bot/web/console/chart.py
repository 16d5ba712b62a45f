"""A horizontal bar chart as plain numbers for an inline SVG (drawn by the template): no
script, no chart library, readable on a phone and printable."""

from __future__ import annotations

from dataclasses import dataclass

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
