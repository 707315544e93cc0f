"""Which way a station lies: bearings, a heading, a route."""

from __future__ import annotations

import pytest

from apps.recommend import geometry

ORIGIN = (38.4, 116.0)
NORTH = (38.6, 116.0)
SOUTH = (38.2, 116.0)
EAST = (38.4, 116.3)


@pytest.mark.parametrize(("target", "bearing"), [(NORTH, 0.0), (EAST, 90.0), (SOUTH, 180.0), ((38.4, 115.7), 270.0)])
def test_initial_bearing(target, bearing: float) -> None:
    assert geometry.initial_bearing(ORIGIN, target) == pytest.approx(bearing, abs=0.2)


def test_heading_alignment_is_one_ahead_zero_aside_minus_one_behind() -> None:
    assert geometry.heading_alignment(heading_deg=0, origin=ORIGIN, target=NORTH) == pytest.approx(1.0)
    assert geometry.heading_alignment(heading_deg=0, origin=ORIGIN, target=EAST) == pytest.approx(0.0, abs=0.01)
    assert geometry.heading_alignment(heading_deg=0, origin=ORIGIN, target=SOUTH) == pytest.approx(-1.0)
    assert geometry.heading_alignment(heading_deg=359, origin=ORIGIN, target=NORTH) == pytest.approx(1.0, abs=0.001)


def test_a_route_that_turns_follows_the_road_not_the_initial_heading() -> None:
    # West for 30 km, then north: a station up the northern leg is ahead although it lies
    # north-west (90 degrees off the first leg), and one east of the start is behind.
    route = [ORIGIN, (38.4, 115.65), (38.8, 115.65)]
    up_the_road = (38.7, 115.65)
    behind = (38.4, 116.2)
    assert geometry.route_alignment(route=route, origin=ORIGIN, target=up_the_road) == pytest.approx(1.0)
    assert geometry.route_alignment(route=route, origin=ORIGIN, target=behind) == pytest.approx(-1.0)
    off_to_the_side = (38.2, 115.825)  # 22 km south of the middle of the first leg
    assert abs(geometry.route_alignment(route=route, origin=ORIGIN, target=off_to_the_side)) < 0.7


def test_a_one_point_route_is_a_destination() -> None:
    assert geometry.route_alignment(route=[NORTH], origin=ORIGIN, target=(38.5, 116.0)) == pytest.approx(1.0)


def test_haversine_is_close_to_the_geodesic() -> None:
    from geopy.distance import geodesic

    assert geometry.haversine_km(ORIGIN, EAST) == pytest.approx(geodesic(ORIGIN, EAST).km, rel=0.005)


@pytest.mark.parametrize("target", [NORTH, EAST, (39.9, 119.2), (18.3, 109.5), ORIGIN])
def test_geodesic_km_is_geopys_geodesic(target) -> None:
    from geopy.distance import geodesic

    assert geometry.geodesic_km(ORIGIN, target) == pytest.approx(geodesic(ORIGIN, target).km, rel=1e-12, abs=1e-12)
