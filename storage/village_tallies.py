"""Village tallies kept in the transaction that writes a visit or a household: per village and
category its active households (``village_households``), and per village, month and category
how many active households had so many visits on so many days (``village_month_tallies``, the
village's household_months pre-counted). County coverage reads a few thousand tally rows
instead of 100,000 households (storage.readmodels.coverage); a household without a row in a
month had no visit (its village's households minus the tallied ones).

Who keeps them:
- a visit written: storage.visit_summary.refresh moves its household from the old month figure
  to the new one (:func:`move`), an increment that commutes with any other visit's;
- a household the ORM inserts, or whose village, category or active flag it changes: mapper
  events below (one new household: +1; else a recount of the villages concerned);
- households written with Core (storage.household_edits.change, the roster import): the
  writer calls :func:`recount` for the villages it touched, in the same transaction;
- bulk loads (benches, migration 0016): :func:`recount` of every village.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storage.models import Household, HouseholdMonth, VillageHouseholds, VillageMonthTally

# A change of any of these moves the household between tallies.
WATCHED = ("village_id", "category", "active")


def _recount_statements(village_ids: Collection[int] | None) -> list[sa.Executable]:
    """Delete the villages' tallies and count them again from households and
    household_months (every village when ``village_ids`` is None)."""
    active = [Household.active.is_(True)]
    if village_ids is not None:
        active.append(Household.village_id.in_(list(village_ids)))
    drop_h, drop_m = sa.delete(VillageHouseholds), sa.delete(VillageMonthTally)
    if village_ids is not None:
        drop_h = drop_h.where(VillageHouseholds.village_id.in_(list(village_ids)))
        drop_m = drop_m.where(VillageMonthTally.village_id.in_(list(village_ids)))
    households = (
        sa.select(Household.village_id, Household.category, sa.func.count())
        .where(*active)
        .group_by(Household.village_id, Household.category)
    )
    key = (Household.village_id, HouseholdMonth.month, Household.category)
    months = (
        sa.select(*key, HouseholdMonth.visits, HouseholdMonth.days, sa.func.count())
        .join(Household, Household.id == HouseholdMonth.household_id)
        .where(*active)
        .group_by(*key, HouseholdMonth.visits, HouseholdMonth.days)
    )
    return [
        drop_h,
        drop_m,
        sa.insert(VillageHouseholds).from_select(
            ["village_id", "category", "households"], households
        ),
        sa.insert(VillageMonthTally).from_select(
            ["village_id", "month", "category", "visits", "days", "households"], months
        ),
    ]


def recount_sync(conn: Connection, village_ids: Collection[int] | None) -> None:
    if village_ids is None or village_ids:
        for stmt in _recount_statements(village_ids):
            conn.execute(stmt)


async def recount(conn: Any, village_ids: Collection[int] | None = None) -> None:
    """Count the villages' tallies again (all of them when None); ``conn`` is an
    AsyncConnection or AsyncSession inside the transaction that wrote the households."""
    if village_ids is None or village_ids:
        for stmt in _recount_statements(village_ids):
            await conn.execute(stmt)


def _add(conn: Connection, model: Any, key: dict[str, Any], n: int) -> None:
    """Add ``n`` to the row of ``key`` (created when missing)."""
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    stmt = insert(model).values(**key, households=n)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(key), set_={"households": model.households + n}
        )
    )


def move(
    conn: Connection,
    household_id: int,
    month: str,
    old: Sequence[int] | None,
    new: Sequence[int] | None,
) -> None:
    """A household's (visits, days) in ``month`` went from ``old`` to ``new`` (None: no
    visit): move it between its village's tallies, when it is active."""
    if tuple(old or ()) == tuple(new or ()):
        return
    row = conn.execute(
        sa.select(Household.village_id, Household.category, Household.active).where(
            Household.id == household_id
        )
    ).one_or_none()
    if row is None or not row.active:
        return
    for figures, n in ((old, -1), (new, 1)):
        if figures is not None:
            key = {"village_id": row.village_id, "month": month, "category": row.category}
            _add(conn, VillageMonthTally, {**key, "visits": figures[0], "days": figures[1]}, n)


@event.listens_for(Household, "after_insert")
def _inserted(_mapper: Any, conn: Connection, household: Household) -> None:
    # A new household has no visits yet: one more in its village's category.
    if household.active:
        key = {"village_id": household.village_id, "category": household.category}
        _add(conn, VillageHouseholds, key, 1)


@event.listens_for(Household, "after_update")
def _updated(_mapper: Any, conn: Connection, household: Household) -> None:
    state = sa.inspect(household)
    history = [state.attrs[name].history for name in WATCHED]
    if any(h.has_changes() for h in history):
        villages = {household.village_id, *history[0].deleted}
        recount_sync(conn, {v for v in villages if v is not None})


@event.listens_for(Household, "after_delete")
def _deleted(_mapper: Any, conn: Connection, household: Household) -> None:
    recount_sync(conn, [household.village_id])
