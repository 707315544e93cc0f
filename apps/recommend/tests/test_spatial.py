"""The spatial index: nearest stations by pack standard, rebuilt when stations change."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from geopy.distance import great_circle

from apps.assets.models import Station
from apps.assets.tests.factories import PackStandardFactory, StationFactory
from apps.recommend import spatial
from apps.recommend.geometry import EARTH_RADIUS_KM

pytestmark = pytest.mark.django_db


def place(lat: float, lon: float, **fields) -> Station:
    return StationFactory(latitude=Decimal(f"{lat:.6f}"), longitude=Decimal(f"{lon:.6f}"), **fields)


def test_nearest_matches_a_scan_of_every_station() -> None:
    standard = PackStandardFactory()
    rng = random.Random(8)
    stations = [place(rng.uniform(36, 41), rng.uniform(112, 118), pack_standards=[standard]) for _ in range(60)]
    origin = (38.4, 116.0)
    found = spatial.station_index().nearest(pack_standard_id=standard.pk, latitude=origin[0], longitude=origin[1], k=5)
    scan = sorted(
        stations, key=lambda s: great_circle(origin, (float(s.latitude), float(s.longitude)), radius=EARTH_RADIUS_KM).km
    )
    assert [near.station_id for near in found] == [s.pk for s in scan[:5]]
    assert found[0].km == pytest.approx(
        great_circle(origin, (float(scan[0].latitude), float(scan[0].longitude)), radius=EARTH_RADIUS_KM).km
    )


def test_only_stations_serving_the_pack_standard_within_the_radius() -> None:
    truck, car = PackStandardFactory(), PackStandardFactory(code="CAR-75-NCM")
    near_truck = place(38.45, 116.0, pack_standards=[truck])
    place(38.41, 116.0, pack_standards=[car])  # nearer, but for cars
    place(39.40, 116.0, pack_standards=[truck])  # 111 km away
    found = spatial.station_index().nearest(pack_standard_id=truck.pk, latitude=38.4, longitude=116.0, k=10, within_km=50)
    assert [near.station_id for near in found] == [near_truck.pk]


def test_the_index_is_rebuilt_when_stations_change(settings) -> None:
    standard = PackStandardFactory()
    first = place(38.5, 116.0, pack_standards=[standard])
    index = spatial.station_index()
    assert index.size == 1
    nearer = place(38.41, 116.0, pack_standards=[standard])
    rebuilt = spatial.station_index()
    assert rebuilt is not index
    found = rebuilt.nearest(pack_standard_id=standard.pk, latitude=38.4, longitude=116.0, k=2)
    assert [near.station_id for near in found] == [nearer.pk, first.pk]
    # A pack standard taken away changes only the links, and is seen too.
    nearer.pack_standards.clear()
    found = spatial.station_index().nearest(pack_standard_id=standard.pk, latitude=38.4, longitude=116.0, k=2)
    assert [near.station_id for near in found] == [first.pk]


def test_an_unchanged_network_keeps_its_index() -> None:
    place(38.5, 116.0, pack_standards=[PackStandardFactory()])
    assert spatial.station_index() is spatial.station_index()


def test_the_version_is_read_at_most_once_per_check_interval(settings, django_assert_num_queries) -> None:
    settings.RECOMMEND_RECHECK_SECONDS = 3600
    standard = PackStandardFactory()
    place(38.5, 116.0, pack_standards=[standard])
    index = spatial.station_index()
    place(38.41, 116.0, pack_standards=[standard])
    with django_assert_num_queries(0):
        assert spatial.station_index() is index  # a new station is seen after the interval
    spatial.station_index_forget()
    assert spatial.station_index().size == 2


def test_no_station_for_a_pack_standard_finds_nothing() -> None:
    place(38.5, 116.0, pack_standards=[PackStandardFactory()])
    assert spatial.station_index().nearest(pack_standard_id=999_999, latitude=38.4, longitude=116.0, k=3) == []
