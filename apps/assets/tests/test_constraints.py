"""The database itself refuses impossible placements, whatever the code above it does."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.assets.models import Battery, BatteryLocation
from apps.assets.tests.factories import BatteryFactory, PackStandardFactory, StationFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def test_battery_cannot_be_in_a_station_and_a_vehicle_at_once() -> None:
    battery = BatteryFactory()
    vehicle = VehicleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Battery.objects.filter(pk=battery.pk).update(vehicle=vehicle, vehicle_position=1)
    battery.refresh_from_db()
    assert (battery.location, battery.vehicle_id) == (BatteryLocation.STATION, None)


def test_battery_in_transit_cannot_keep_a_station_slot() -> None:
    battery = BatteryFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Battery.objects.filter(pk=battery.pk).update(location=BatteryLocation.IN_TRANSIT)
    battery.refresh_from_db()
    assert battery.location == BatteryLocation.STATION


def test_two_batteries_cannot_share_a_station_slot() -> None:
    station = StationFactory()
    BatteryFactory(station=station, station_slot=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        BatteryFactory(station=station, station_slot=3)
    assert Battery.objects.filter(station=station).count() == 1


def test_station_slot_beyond_the_station_is_refused() -> None:
    station = StationFactory(slot_count=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        BatteryFactory(station=station, station_slot=5)
    assert not Battery.objects.filter(station=station).exists()


def test_vehicle_cannot_carry_more_batteries_than_its_standard_holds() -> None:
    vehicle = VehicleFactory()  # HT-282-LFP: one pack per vehicle
    in_vehicle = {"location": BatteryLocation.VEHICLE, "station": None, "station_slot": None, "vehicle": vehicle}
    BatteryFactory(**in_vehicle, vehicle_position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        BatteryFactory(**in_vehicle, vehicle_position=2)
    assert vehicle.batteries.count() == 1


def test_modular_vehicle_takes_up_to_three_blocks() -> None:
    qiji = PackStandardFactory(code="HT-171-QIJI", packs_per_vehicle=3)
    vehicle = VehicleFactory(pack_standard=qiji)
    in_vehicle = {"location": BatteryLocation.VEHICLE, "station": None, "station_slot": None, "vehicle": vehicle}
    for position in (1, 2, 3):
        BatteryFactory(**in_vehicle, pack_standard=qiji, vehicle_position=position)
    with pytest.raises(IntegrityError), transaction.atomic():
        BatteryFactory(**in_vehicle, pack_standard=qiji, vehicle_position=4)
    assert vehicle.batteries.count() == 3


def test_moving_a_battery_into_a_full_vehicle_is_refused_by_update_too() -> None:
    vehicle = VehicleFactory()
    BatteryFactory(location=BatteryLocation.VEHICLE, station=None, station_slot=None, vehicle=vehicle, vehicle_position=1)
    loose = BatteryFactory(location=BatteryLocation.IN_TRANSIT, station=None, station_slot=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Battery.objects.filter(pk=loose.pk).update(location=BatteryLocation.VEHICLE, vehicle=vehicle, vehicle_position=2)
    loose.refresh_from_db()
    assert loose.location == BatteryLocation.IN_TRANSIT
