"""The reads a scan and a bill run on every request are compiled once per process
(``apps.common.compiled``); these tests hold each equal to the queryset it stands for."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.assets.models import Battery
from apps.billing import selectors as billing_selectors
from apps.billing.models import ChargingInterval, StationTariff
from apps.billing.tou import LOCAL_TIME
from apps.swaps import selectors
from apps.swaps.models import BatteryCustodyEvent, CustodyKind
from apps.swaps.tests.factories import handed_out, scanned, swap_world

pytestmark = pytest.mark.django_db


def _plain_ready(station_id: int, pack_standard_id: int, exclude: frozenset[int] = frozenset()) -> list[int]:
    ready = selectors.ready_battery_queryset().filter(station_id=station_id, pack_standard_id=pack_standard_id)
    return list(ready.exclude(pk__in=exclude).order_by("-energy_kwh", "pk").values_list("pk", flat=True)[:16])


def test_ready_batteries_are_the_querysets_fullest_first_with_their_owners() -> None:
    world = swap_world(stock=5)
    standard = world.vehicle.pack_standard_id
    Battery.objects.filter(pk=world.stock[1].pk).update(charge_pct=Decimal("50.00"))  # not charged
    scanned(world)  # holds the fullest
    ready = selectors.ready_batteries(station=world.station, pack_standard_id=standard)
    assert [battery.pk for battery in ready] == _plain_ready(world.station.pk, standard)
    assert len(ready) == 3
    assert all(battery.owner.pk == world.owner.pk and battery.owner.name == world.owner.name for battery in ready)
    assert ready[0].energy_kwh == Battery.objects.get(pk=ready[0].pk).energy_kwh
    skip = frozenset({ready[0].pk})
    assert [b.pk for b in selectors.ready_batteries(station=world.station, pack_standard_id=standard, exclude=set(skip))] == (
        _plain_ready(world.station.pk, standard, skip)
    )


def test_ready_batteries_follow_the_settings_in_force() -> None:
    world = swap_world(stock=3)
    standard = world.vehicle.pack_standard_id
    assert len(selectors.ready_batteries(station=world.station, pack_standard_id=standard)) == 3
    with override_settings(BATTERY_READY_MIN_CHARGE_PCT=Decimal("96.00")):  # the stock is at 95 %
        assert selectors.ready_batteries(station=world.station, pack_standard_id=standard) == []
        assert _plain_ready(world.station.pk, standard) == []
    assert len(selectors.ready_batteries(station=world.station, pack_standard_id=standard)) == 3


def test_custody_marks_are_the_latest_events() -> None:
    world = swap_world(stock=1)
    delivered, returned = world.stock[0], world.vehicle_battery
    assert selectors.custody_marks(delivered=delivered, returned=returned) == (None, Decimal("250.000"))
    now = timezone.now()
    for hours in (5, 3):
        BatteryCustodyEvent.objects.create(
            battery=delivered, kind=CustodyKind.RETURNED, at=now - timedelta(hours=hours), station=world.station,
            station_slot=1, energy_kwh=Decimal("90.000"),
        )  # fmt: skip
    handed_out(returned, world.vehicle, Decimal("270.000"), at=now - timedelta(hours=1))
    left_at, handout = selectors.custody_marks(delivered=delivered, returned=returned)
    assert left_at == now - timedelta(hours=3)
    assert handout == Decimal("270.000")
    assert selectors.custody_marks(delivered=delivered, returned=None)[1] is None


def test_charging_intervals_and_the_tariff_in_force_equal_their_querysets() -> None:
    world = swap_world(stock=1)
    battery = world.stock[0]
    start = datetime(2025, 3, 11, 0, 0, tzinfo=LOCAL_TIME)
    for hour in (1, 5, 9):
        ChargingInterval.objects.create(
            battery=battery, station=world.station, started_at=start + timedelta(hours=hour),
            ended_at=start + timedelta(hours=hour + 2), kwh=Decimal("20.500"),
        )  # fmt: skip
    until = start + timedelta(hours=6)
    every = billing_selectors.charging_since(battery=battery, since=None, until=until)
    plain = ChargingInterval.objects.filter(battery=battery, started_at__lt=until).order_by("started_at")
    assert [(i.start, i.end, i.kwh) for i in every] == [(r.started_at, min(r.ended_at, until), r.kwh) for r in plain]
    assert len(every) == 3
    assert every[-1].end == until  # cut at ``until``
    since = billing_selectors.charging_since(battery=battery, since=start, until=until)
    assert [i.start for i in since] == [start + timedelta(hours=1), start + timedelta(hours=5)]
    at = timezone.now()
    newer = StationTariff.objects.filter(station=world.station).get()
    newer.pk, newer.effective_from, newer.service_fee_per_kwh = None, at - timedelta(days=1), Decimal("0.55")
    newer.save()
    tariff = billing_selectors.tariff_in_force(station=world.station, at=at)
    assert tariff is not None
    assert (tariff.pk, tariff.service_fee_per_kwh) == (newer.pk, Decimal("0.55"))
    assert tariff.energy_prices() == newer.energy_prices()
    assert billing_selectors.tariff_in_force(station=world.station, at=at - timedelta(days=3650)) is None
