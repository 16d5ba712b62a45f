"""Where visits were made, for the console's map: each village placed at the median of its
visits' locations, and the visits far from their village's centre flagged with the distance.

Pure functions over plain points (no database, no I/O): the console's service feeds them the
month's latest located visits, and the browser only draws what they return. A median, not a
mean, so that one report sent from the county town does not drag its village's centre away.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

FAR_KM = 3.0  # a visit further than this from its village's centre is flagged
EARTH_RADIUS_KM = 6371.0088  # the mean Earth radius (IUGG)


@dataclass(frozen=True)
class Spot:
    """One located visit."""

    key: int  # the visit's id
    village_id: int
    lat: float
    lon: float


@dataclass(frozen=True)
class Centre:
    village_id: int
    lat: float
    lon: float
    visits: int  # how many located visits the median was taken over


@dataclass(frozen=True)
class Placed:
    spot: Spot
    km: float  # distance to its village's centre
    far: bool


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def village_centres(spots: Iterable[Spot]) -> dict[int, Centre]:
    """Each village's centre: the median latitude and the median longitude of its visits."""
    by_village: dict[int, list[Spot]] = {}
    for s in spots:
        by_village.setdefault(s.village_id, []).append(s)
    return {
        vid: Centre(vid, median(s.lat for s in rows), median(s.lon for s in rows), len(rows))
        for vid, rows in by_village.items()
    }


def place(
    spots: Sequence[Spot], centres: dict[int, Centre], far_km: float = FAR_KM
) -> list[Placed]:
    """Each spot with its distance to its village's centre, flagged when beyond ``far_km``."""
    placed = []
    for s in spots:
        c = centres[s.village_id]
        km = distance_km(s.lat, s.lon, c.lat, c.lon)
        placed.append(Placed(s, km, km > far_km))
    return placed
