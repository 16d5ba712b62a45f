"""The map's geometry (services.visit_map): distances, each village's centre as the median of
its visits, and the visits far from it."""

from __future__ import annotations

import pytest

from services.visit_map import FAR_KM, Spot, distance_km, place, village_centres


def test_distance_of_a_degree_of_latitude_and_of_longitude_at_30_degrees():
    assert distance_km(30.0, 120.0, 31.0, 120.0) == pytest.approx(111.19, abs=0.01)
    # A degree of longitude shrinks with the cosine of the latitude (cos 30° = 0.866).
    assert distance_km(30.0, 120.0, 30.0, 121.0) == pytest.approx(96.29, abs=0.05)
    assert distance_km(30.0, 120.0, 30.0, 120.0) == 0.0


def test_a_villages_centre_is_the_median_so_one_stray_report_does_not_move_it():
    spots = [
        Spot(1, 7, 30.000, 120.000),
        Spot(2, 7, 30.001, 120.002),
        Spot(3, 7, 30.002, 120.001),
        Spot(4, 7, 31.500, 121.500),  # sent from far away
        Spot(5, 8, 29.0, 119.0),
    ]
    centres = village_centres(spots)
    assert set(centres) == {7, 8}
    # Even count: the middle two of each coordinate, averaged.
    assert centres[7].lat == pytest.approx(30.0015)
    assert centres[7].lon == pytest.approx(120.0015)
    assert centres[7].visits == 4
    assert (centres[8].lat, centres[8].lon, centres[8].visits) == (29.0, 119.0, 1)


def test_points_beyond_the_threshold_are_flagged_with_their_distance():
    spots = [
        Spot(1, 7, 30.0, 120.0),
        Spot(2, 7, 30.0, 120.0),
        Spot(3, 7, 30.0 + 2.9 / 111.19, 120.0),  # 2.9 km north: near
        Spot(4, 7, 30.0 + 3.2 / 111.19, 120.0),  # 3.2 km north: far
        Spot(5, 7, 30.0, 120.0),
    ]
    placed = place(spots, village_centres(spots))
    assert [p.spot.key for p in placed] == [1, 2, 3, 4, 5]
    assert [p.far for p in placed] == [False, False, False, True, False]
    assert placed[3].km == pytest.approx(3.2, abs=0.01)
    assert placed[2].km == pytest.approx(2.9, abs=0.01)
    assert FAR_KM == 3.0
    assert [p.far for p in place(spots, village_centres(spots), far_km=2.0)][2] is True


def test_no_points_no_centres():
    assert village_centres([]) == {}
    assert place([], {}) == []
