"""Compiled reads return exactly what their queryset returns, for any values, on either database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.assets.models import Battery, Station
from apps.assets.tests.factories import BatteryFactory, StationFactory
from apps.common.compiled import CompiledRead, model_instance
from apps.common.models import IdempotencyRecord, IdempotencyState

pytestmark = pytest.mark.django_db


def batteries_of(station_ids, charged_above):
    return (
        Battery.objects.filter(station_id__in=station_ids, charge_pct__gt=charged_above)
        .order_by("pk")
        .values_list("pk", "code", "station_id", "energy_kwh", "charge_pct")
    )


def test_rows_equal_the_querysets_for_other_values_and_list_lengths() -> None:
    stations = [StationFactory() for _ in range(3)]
    for number, station in enumerate(stations):
        BatteryFactory(station=station, charge_pct=Decimal(90 + number), energy_kwh=Decimal("250.125"))
        BatteryFactory(station=station, charge_pct=Decimal(50), energy_kwh=Decimal("140.500"))
    read = CompiledRead(batteries_of)
    for ids, above in (([stations[0].pk], 80), ([stations[1].pk, stations[2].pk], 91), ([s.pk for s in stations], 10)):
        assert read(station_ids=ids, charged_above=above) == list(batteries_of(ids, above))
    rows = read(station_ids=[stations[0].pk], charged_above=0)
    assert {row[3] for row in rows} == {Decimal("250.125"), Decimal("140.500")}  # Decimals, converted as Django would
    assert all(isinstance(row[3], Decimal) for row in rows)


def test_datetimes_and_json_come_back_as_django_loads_them() -> None:
    now = timezone.now()
    for minutes in (1, 5, 30):
        IdempotencyRecord.objects.create(
            scope="user:1",
            key=f"k{minutes}",
            request_hash="h",
            state=IdempotencyState.DONE,
            claimed_at=now - timedelta(minutes=minutes),
            response_status=200,
            response_body={"minutes": minutes, "list": [1, 2]},
            completed_at=now,
        )

    def claimed_since(since):
        return (
            IdempotencyRecord.objects.filter(claimed_at__gte=since)
            .order_by("claimed_at")
            .values_list("key", "claimed_at", "response_body")
        )

    read = CompiledRead(claimed_since)
    for since in (now - timedelta(minutes=10), now - timedelta(hours=1), now):
        assert read(since=since) == list(claimed_since(since))
    assert read(since=now - timedelta(minutes=10))[0][2] == {"minutes": 5, "list": [1, 2]}


def test_the_sql_is_compiled_once_per_list_length() -> None:
    station = StationFactory()
    read = CompiledRead(batteries_of)
    read(station_ids=[station.pk], charged_above=1)
    read(station_ids=[station.pk + 1], charged_above=2)
    read(station_ids=[station.pk, station.pk + 1], charged_above=3)
    assert len(read._compiled) == 2


def test_aggregates_with_subqueries_and_exclusions() -> None:
    stations = [StationFactory() for _ in range(2)]
    for station in stations:
        BatteryFactory.create_batch(2, station=station)

    def counts(station_ids, without):
        return (
            Battery.objects.filter(station_id__in=station_ids)
            .exclude(pk=without)
            .order_by()
            .values("station_id")
            .annotate(batteries=Count("pk"))
            .values_list("station_id", "batteries")
        )

    read = CompiledRead(counts)
    first = stations[0].batteries.first()
    assert first is not None
    ids = [station.pk for station in stations]
    assert sorted(read(station_ids=ids, without=first.pk)) == sorted(counts(ids, first.pk)) == [(ids[0], 1), (ids[1], 2)]


def test_an_empty_list_runs_the_queryset_itself() -> None:
    read = CompiledRead(batteries_of)
    with CaptureQueriesContext(connection) as captured:
        assert read(station_ids=[], charged_above=0) == []
    assert captured.captured_queries == []  # Django knows an empty IN matches nothing
    assert read._compiled == {}


@pytest.mark.parametrize("value", [None, "1", 1.5, True, [1, "2"]])
def test_values_it_cannot_place_are_refused(value) -> None:
    station = StationFactory()
    read = CompiledRead(batteries_of)
    read(station_ids=[station.pk], charged_above=1)  # compiled for one id
    arguments = (
        {"station_ids": value, "charged_above": 1}
        if isinstance(value, list)
        else {"station_ids": [station.pk], "charged_above": value}
    )
    with pytest.raises(TypeError):
        read(**arguments)


def test_a_naive_datetime_is_refused() -> None:
    read = CompiledRead(lambda since: IdempotencyRecord.objects.filter(claimed_at__gte=since).values_list("key"))
    read(since=timezone.now())
    with pytest.raises(TypeError):
        read(since=timezone.now().replace(tzinfo=None))


def test_model_instance_is_what_only_loads() -> None:
    station = StationFactory()
    names = ("code", "pk", "latitude")
    row = Station.objects.filter(pk=station.pk).values_list(*names).get()
    loaded = model_instance(Station, names, row)
    expected = Station.objects.only(*names).get(pk=station.pk)
    assert (loaded.pk, loaded.code, loaded.latitude) == (expected.pk, expected.code, expected.latitude)
    assert loaded.get_deferred_fields() == expected.get_deferred_fields()
    assert loaded._state.adding is False


def test_strings_are_placed_as_given() -> None:
    stations = [StationFactory() for _ in range(2)]

    def by_code(code):
        return Station.objects.filter(code=code).values_list("pk", "code")

    read = CompiledRead(by_code)
    for station in stations:
        assert read(code=station.code) == list(by_code(station.code)) == [(station.pk, station.code)]
    assert read(code="no such code") == []


def test_a_lookup_that_rewrites_its_value_does_not_compile() -> None:
    StationFactory(code="SWN-ABC-E")
    read = CompiledRead(lambda part: Station.objects.filter(code__contains=part).values_list("pk"))
    with pytest.raises(ValueError, match="did not reach the SQL parameters"):
        read(part="ABC")
    assert read._compiled == {}
