"""A scan records where the driver actually swapped: after the order is committed, the driver's
latest recent recommendation for that vehicle is labelled with the station (and its rank there),
for the recommender to learn from. A refused scan labels nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.access import Actor
from apps.common.errors import ApplicationError
from apps.recommend.models import RecommendationLog, Scoring
from apps.recommend.services import recommendation_outcome_record
from apps.swaps.models import SwapOrder
from apps.swaps.services import swap_scan
from apps.swaps.tests.factories import SwapWorld, api, swap_world, verified_driver

pytestmark = pytest.mark.django_db


def asked(world: SwapWorld) -> RecommendationLog:
    """The driver asks for stations from next to the world's station, through the API."""
    station = world.station
    response = api(world.driver).get(
        "/api/v1/stations/recommend",
        {"lat": str(station.latitude), "lon": str(station.longitude), "vehicle": world.vehicle.plate},
    )
    assert response.status_code == 200, response.json()
    return RecommendationLog.objects.get(vehicle=world.vehicle)


def logged(world: SwapWorld, *, driver_id: int | None, minutes_ago: int = 5) -> RecommendationLog:
    log = RecommendationLog.objects.create(
        vehicle=world.vehicle,
        driver_id=driver_id,
        latitude=world.station.latitude,
        longitude=world.station.longitude,
        remaining_kwh=Decimal("60.000"),
        kwh_per_km=Decimal("1.500"),
        range_km=Decimal("36.0"),
        candidates=[{"station_id": world.station.pk, "station": world.station.code, "rank": 1}],
        shown=1,
        scoring=Scoring.WEIGHTED,
    )
    RecommendationLog.objects.filter(pk=log.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return log


def scan(world: SwapWorld) -> SwapOrder:
    return swap_scan(actor=Actor.of(world.driver), qr_payload=world.token(), plate=world.vehicle.plate).order


def test_a_scan_labels_the_drivers_latest_recommendation_with_the_station(django_capture_on_commit_callbacks) -> None:
    world = swap_world()
    log = asked(world)
    assert log.chosen_station is None
    with django_capture_on_commit_callbacks(execute=True):
        order = scan(world)
    log.refresh_from_db()
    assert log.chosen_station == world.station
    assert log.chosen_at == order.queued_at
    assert log.chosen_rank == next(entry["rank"] for entry in log.candidates if entry["station_id"] == world.station.pk)


def test_the_label_waits_for_the_commit(django_capture_on_commit_callbacks) -> None:
    world = swap_world()
    log = logged(world, driver_id=world.driver.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scan(world)
    log.refresh_from_db()
    assert log.chosen_station is None
    labels = [c for c in callbacks if getattr(c, "func", None) is recommendation_outcome_record]
    assert len(labels) == 1


def test_another_drivers_recommendation_for_the_vehicle_is_not_labelled(django_capture_on_commit_callbacks) -> None:
    world = swap_world()
    other = logged(world, driver_id=verified_driver(world.carrier).pk, minutes_ago=1)
    mine = logged(world, driver_id=world.driver.pk, minutes_ago=10)
    with django_capture_on_commit_callbacks(execute=True):
        scan(world)
    other.refresh_from_db()
    mine.refresh_from_db()
    assert other.chosen_station is None
    assert (mine.chosen_station, mine.chosen_rank) == (world.station, 1)


def test_a_recommendation_older_than_the_window_is_not_labelled(django_capture_on_commit_callbacks, settings) -> None:
    world = swap_world()
    log = logged(world, driver_id=world.driver.pk, minutes_ago=int(settings.RECOMMEND_OUTCOME_WINDOW.total_seconds() // 60) + 1)
    with django_capture_on_commit_callbacks(execute=True):
        scan(world)
    log.refresh_from_db()
    assert log.chosen_station is None


def test_a_refused_scan_labels_nothing(django_capture_on_commit_callbacks) -> None:
    world = swap_world(wallet_fen=0)
    log = logged(world, driver_id=world.driver.pk)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as refused:
        scan(world)
    assert refused.value.code == "insufficient_funds"
    log.refresh_from_db()
    assert log.chosen_station is None
    assert not SwapOrder.objects.exists()
