"""Visit summaries kept in the transaction that writes a visit: each household's active visits
and visit days per month (``household_months``), and on the household row its latest active
visit (``last_visited_at``) and a copy of its latest month's figures (``last_month``,
``last_month_visits``, ``last_month_days``).

Every visit the ORM inserts, or whose status, time, month, day or household it changes, has
its household's summary recomputed from the visits table right there, on the flush's
connection (mapper events, so storage.visits, the chat and test data alike keep it). The
household's row is locked first (PostgreSQL), so two visits of one household saved at once
are summed by whichever commits last. Rows written with Core ``insert(Visit)`` (the
benchmarks' bulk loads) are summarized afterwards by :func:`rebuild`, as migration 0014 does.
The village tallies (storage.village_tallies) follow every change made here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from core.statuses import VisitStatus
from storage import village_tallies
from storage.models import Household, HouseholdMonth, Visit

# A change of any of these recomputes the visit's household summary.
WATCHED = ("status", "visited_at", "month", "day", "household_id")


def _month_counts() -> sa.Select[Any]:
    return sa.select(
        Visit.household_id,
        Visit.month,
        sa.func.count().label("visits"),
        sa.func.count(sa.distinct(Visit.day)).label("days"),
    ).where(Visit.status == VisitStatus.ACTIVE)


def _last_visit() -> sa.ScalarSelect[Any]:
    return (
        sa.select(sa.func.max(Visit.visited_at))
        .where(Visit.household_id == Household.id, Visit.status == VisitStatus.ACTIVE)
        .scalar_subquery()
    )


def _latest_month() -> dict[str, sa.ScalarSelect[Any]]:
    """The household row's copy of its latest household_months row (all None without one)."""
    later = aliased(HouseholdMonth)
    latest = (
        sa.select(sa.func.max(later.month))
        .where(later.household_id == Household.id)
        .correlate(Household)
        .scalar_subquery()
    )

    def of(column: Any) -> sa.ScalarSelect[Any]:
        return (
            sa.select(column)
            .where(HouseholdMonth.household_id == Household.id, HouseholdMonth.month == latest)
            .correlate(Household)
            .scalar_subquery()
        )

    return {
        "last_month": latest,
        "last_month_visits": of(HouseholdMonth.visits),
        "last_month_days": of(HouseholdMonth.days),
    }


def refresh(conn: Connection, household_id: int, month: str) -> None:
    """Recompute one household's summary for ``month``, its latest active visit and its
    latest month."""
    conn.execute(sa.select(Household.id).where(Household.id == household_id).with_for_update())
    this = (HouseholdMonth.household_id == household_id) & (HouseholdMonth.month == month)
    figures = sa.select(HouseholdMonth.visits, HouseholdMonth.days).where(this)
    old = conn.execute(figures).one_or_none()
    conn.execute(sa.delete(HouseholdMonth).where(this))
    counts = _month_counts().where(Visit.household_id == household_id, Visit.month == month)
    conn.execute(
        sa.insert(HouseholdMonth).from_select(
            ["household_id", "month", "visits", "days"],
            counts.group_by(Visit.household_id, Visit.month),
        )
    )
    village_tallies.move(conn, household_id, month, old, conn.execute(figures).one_or_none())
    conn.execute(
        sa.update(Household)
        .where(Household.id == household_id)
        .values(last_visited_at=_last_visit(), **_latest_month())
    )


@event.listens_for(Visit, "after_insert")
def _inserted(_mapper: Any, conn: Connection, visit: Visit) -> None:
    refresh(conn, visit.household_id, visit.month)


@event.listens_for(Visit, "after_update")
def _updated(_mapper: Any, conn: Connection, visit: Visit) -> None:
    # A visit's household and month never change (storage.visits.amend refuses them).
    state = sa.inspect(visit)
    if any(state.attrs[name].history.has_changes() for name in WATCHED):
        refresh(conn, visit.household_id, visit.month)


async def rebuild(conn: Any) -> None:
    """Recompute every summary from the visits (after bulk loads that bypass the ORM);
    ``conn`` is an AsyncConnection or AsyncSession inside a transaction."""
    await conn.execute(sa.delete(HouseholdMonth))
    counts = _month_counts().group_by(Visit.household_id, Visit.month)
    await conn.execute(
        sa.insert(HouseholdMonth).from_select(["household_id", "month", "visits", "days"], counts)
    )
    await conn.execute(
        sa.update(Household).values(last_visited_at=_last_visit(), **_latest_month())
    )
    await village_tallies.recount(conn)
