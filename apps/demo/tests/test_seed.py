from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import Membership, Organisation, Role, User
from apps.assets.models import Battery, BatteryLocation, Bay, PackStandard, Station, Vehicle, VehicleAssignment
from apps.demo import services
from apps.demo.tasks import simulate_controller_heartbeats

pytestmark = pytest.mark.django_db

SEEDED_MODELS = [PackStandard, Organisation, Station, Bay, Battery, User, Membership, Vehicle, VehicleAssignment]


def snapshot() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in SEEDED_MODELS}


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_seed_loads_the_ten_corridor_stations_with_their_stock() -> None:
    seed()
    assert Station.objects.count() == 10
    stock = dict(Station.objects.values_list("code", "slot_count"))
    assert stock["SWN-YPL-1"] == 13  # 12 packs and the free slot for a returned one
    assert Bay.objects.filter(station__code="SWN-YPL-1").count() == 2
    assert Battery.objects.filter(location=BatteryLocation.STATION).count() == 82  # the packs of corridor.json
    assert set(Station.objects.get(code="SWN-RUC-1").pack_standards.values_list("code", flat=True)) == {"HT-350-LFP"}
    assert Station.objects.get(code="SWN-RUC-1").operator.code == "shanxi-swap-ops"


def test_every_truck_carries_one_battery_of_its_own_standard() -> None:
    seed()
    for vehicle in Vehicle.objects.all():
        batteries = list(vehicle.batteries.all())
        assert len(batteries) == 1
        assert batteries[0].pack_standard_id == vehicle.pack_standard_id


def test_a_second_seed_changes_nothing() -> None:
    seed()
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert "nothing changed" in output


def test_demo_accounts_log_in_with_the_printed_password() -> None:
    output = seed()
    accounts = services.demo_accounts()
    assert len(accounts) == 20
    for account in accounts:
        assert account.phone in output
        user = User.objects.get(phone=account.phone)
        assert user.check_password(services.DEMO_PASSWORD)
        assert Membership.objects.filter(user=user, role=account.role, organisation__code=account.organisation).exists()


def test_each_station_has_its_own_staff_member() -> None:
    seed()
    staff = Membership.objects.filter(role=Role.STATION_STAFF)
    assert sorted(staff.values_list("station__code", flat=True)) == sorted(Station.objects.values_list("code", flat=True))


def test_simulated_controllers_bring_the_demo_stations_online(settings) -> None:
    settings.SIMULATE_CONTROLLERS = True
    seed()
    assert not any(station.is_online() for station in Station.objects.all())
    assert simulate_controller_heartbeats.apply().get() == 10
    assert all(station.is_online() for station in Station.objects.all())


def test_controllers_are_not_simulated_in_the_real_mode(settings) -> None:
    settings.SIMULATE_CONTROLLERS = False
    seed()
    assert simulate_controller_heartbeats.apply().get() == 0
    assert not Station.objects.filter(last_heartbeat_at__isnull=False).exists()
