from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from apps.access import Actor
from apps.accounts.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from apps.assets.models import Battery, BatteryLocation, Bay, PackStandard, Station, Vehicle, VehicleAssignment
from apps.billing.models import BatteryRate, StationTariff, TouCalendarVersion
from apps.demo import services
from apps.ledger.models import Account, Entry, JournalTransaction
from apps.ledger.selectors import wallet_get
from apps.ledger.tests.factories import assert_ledger_invariants
from apps.payments.models import TopUp, TopUpStatus

pytestmark = pytest.mark.django_db

SEEDED_MODELS = [
    PackStandard,
    Organisation,
    Station,
    Bay,
    Battery,
    User,
    Membership,
    Vehicle,
    VehicleAssignment,
    TouCalendarVersion,
    StationTariff,
    BatteryRate,
]


def snapshot() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in SEEDED_MODELS}


def snapshot_money() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in [TopUp, Account, JournalTransaction, Entry]}


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


def test_each_demo_carrier_starts_with_one_paid_sandbox_top_up(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    for carrier_code, admin_phone in services.DEMO_OPENING_TOP_UPS.items():
        wallet = wallet_get(actor=Actor.of(User.objects.get(phone=admin_phone)))
        assert (wallet.organisation.code, wallet.balance_fen, wallet.available_fen) == (
            carrier_code,
            services.DEMO_OPENING_TOP_UP_FEN,
            services.DEMO_OPENING_TOP_UP_FEN,
        )
    assert TopUp.objects.filter(status=TopUpStatus.SUCCEEDED, amount_fen=services.DEMO_OPENING_TOP_UP_FEN).count() == 2
    assert_ledger_invariants()


def test_a_second_seed_tops_up_nobody_again(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    money = snapshot_money()
    with django_capture_on_commit_callbacks(execute=True):
        output = seed()
    assert snapshot_money() == money
    assert "nothing changed" in output


def test_without_the_sandbox_the_seed_charges_no_real_provider(settings, django_capture_on_commit_callbacks) -> None:
    settings.PAYMENT_SANDBOX_ENABLED = False
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    assert not TopUp.objects.exists()
    assert not JournalTransaction.objects.exists()


def test_every_demo_station_has_a_tariff_and_every_battery_a_rate() -> None:
    from django.utils import timezone

    from apps.billing import selectors
    from apps.billing.tou import Period

    seed()
    now = timezone.now()
    for station in Station.objects.all():
        prices = selectors.station_prices(station=station, at=now)
        assert prices.service_per_kwh == Decimal("0.4500")
        assert (
            prices.energy[Period.VALLEY] < prices.energy[Period.FLAT] < prices.energy[Period.PEAK] < prices.energy[Period.SHARP]
        )
        assert selectors.calendar_for_zone(zone=station.tariff_zone).period_at(now) in Period
    assert selectors.station_prices(station=Station.objects.get(code="SWN-HJN-W"), at=now).energy[Period.FLAT] == Decimal(
        "0.6200"
    )
    assert all(selectors.battery_rate_in_force(battery=battery, at=now) is not None for battery in Battery.objects.all())


def test_demo_carriers_are_certified_and_their_drivers_verified() -> None:
    from apps.accounts.selectors.carriers import carrier_may_swap
    from apps.accounts.selectors.verification import is_verified

    seed()
    carriers = Organisation.objects.filter(kind=OrganisationKind.CARRIER)
    assert carriers.count() == 2
    assert all(carrier_may_swap(carrier=carrier) for carrier in carriers)
    drivers = User.objects.filter(memberships__role=Role.DRIVER)
    assert drivers.count() == 3
    assert all(is_verified(user=driver) for driver in drivers)
