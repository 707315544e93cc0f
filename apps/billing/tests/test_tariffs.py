"""Tariff and rate versions: set by their owners only, refused when absurd, never retroactive."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import OrganisationKind, Role
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.tests.factories import BatteryFactory, StationFactory
from apps.billing import selectors, services
from apps.billing.models import BatteryRate, StationTariff, TouCalendarVersion
from apps.billing.tou import Period

pytestmark = pytest.mark.django_db

PRICES = {"sharp": "1.2648", "peak": "1.0540", "flat": "0.6200", "valley": "0.1860", "deep_valley": "0.1488"}


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def station():
    return StationFactory(operator=OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR))


@pytest.fixture
def operator_admin(station):
    return member(Role.OPERATOR_ADMIN, station.operator)


def test_operator_sets_a_tariff_that_everyone_signed_in_reads(station, operator_admin) -> None:
    response = api(operator_admin).put(
        f"/api/v1/stations/{station.code}/tariff", {"energy_prices": PRICES, "service_fee_per_kwh": "0.45"}, format="json"
    )
    assert response.status_code == 201, response.json()
    driver = member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER))
    read = api(driver).get(f"/api/v1/stations/{station.code}/tariff").json()
    assert read["energy_prices"] == PRICES
    assert read["service_fee_per_kwh"] == "0.4500"


@pytest.mark.parametrize(
    ("actor_role", "status"),
    [("other_operator_admin", 403), ("driver", 403), ("station_staff", 403), ("platform_admin", 403), ("anonymous", 401)],
)
def test_only_the_operator_changes_the_tariff(station, actor_role: str, status: int) -> None:
    users = {
        "other_operator_admin": member(Role.OPERATOR_ADMIN, OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)),
        "driver": member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER)),
        "station_staff": member(Role.STATION_STAFF, station.operator, station=station),
        "platform_admin": member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM)),
        "anonymous": None,
    }
    response = api(users[actor_role]).put(f"/api/v1/stations/{station.code}/tariff", {"energy_prices": PRICES}, format="json")
    assert response.status_code == status
    assert not StationTariff.objects.exists()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"energy_prices": {**PRICES, "peak": "-0.1"}}, "price_negative"),
        ({"energy_prices": {**PRICES, "sharp": "12.648"}}, "price_out_of_range"),
        ({"service_fee_per_swap": "5000"}, "price_out_of_range"),
        ({"effective_from": "2020-01-01T00:00:00+08:00"}, "effective_in_the_past"),
    ],
)
def test_absurd_tariffs_are_refused_and_change_nothing(station, operator_admin, change, code: str) -> None:
    response = api(operator_admin).put(
        f"/api/v1/stations/{station.code}/tariff", {"energy_prices": PRICES, **change}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not StationTariff.objects.exists()


def test_a_tariff_without_every_period_is_refused(station, operator_admin) -> None:
    response = api(operator_admin).put(
        f"/api/v1/stations/{station.code}/tariff",
        {"energy_prices": {k: v for k, v in PRICES.items() if k != "sharp"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "energy_prices" in response.json()["error"]["fields"]
    assert not StationTariff.objects.exists()


def test_a_new_tariff_version_does_not_change_the_price_of_an_earlier_moment(station, operator_admin) -> None:
    from apps.access import Actor

    actor = Actor.of(operator_admin)
    now = timezone.now()
    services.station_tariff_set(
        actor=actor, station=station, energy_prices={p: Decimal(v) for p, v in PRICES.items()}, effective_from=now
    )
    later = now + timedelta(days=1)
    services.station_tariff_set(
        actor=actor, station=station, energy_prices={p: Decimal("0.9") for p in PRICES}, effective_from=later
    )
    assert selectors.station_prices(station=station, at=now + timedelta(hours=1)).energy[Period.PEAK] == Decimal("1.0540")
    assert selectors.station_prices(station=station, at=later + timedelta(hours=1)).energy[Period.PEAK] == Decimal("0.9000")


def test_battery_rate_falls_back_from_battery_to_grade_to_owner_default() -> None:
    from apps.access import Actor

    owner = OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)
    actor = Actor.of(member(Role.OWNER_ADMIN, owner))
    battery = BatteryFactory(owner=owner, health_pct=Decimal("85.00"))  # grade B
    now = timezone.now()
    assert selectors.battery_rate_in_force(battery=battery, at=now) is None
    services.battery_rate_set(actor=actor, owner=owner, fee_per_kwh=Decimal("0.30"), effective_from=now)
    assert selectors.battery_rate_in_force(battery=battery, at=now) == Decimal("0.30")
    services.battery_rate_set(actor=actor, owner=owner, fee_per_kwh=Decimal("0.25"), health_grade="B", effective_from=now)
    assert selectors.battery_rate_in_force(battery=battery, at=now) == Decimal("0.25")
    services.battery_rate_set(actor=actor, owner=owner, battery=battery, fee_per_kwh=Decimal("0.28"), effective_from=now)
    assert selectors.battery_rate_in_force(battery=battery, at=now) == Decimal("0.28")


def test_only_the_owner_sets_a_battery_rate_and_anyone_signed_in_reads_it() -> None:
    owner = OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)
    battery = BatteryFactory(owner=owner)
    other_owner = member(Role.OWNER_ADMIN, OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER))
    refused = api(other_owner).put(f"/api/v1/batteries/{battery.code}/rate", {"fee_per_kwh": "0.30"}, format="json")
    assert refused.status_code == 404  # another owner cannot even see the battery
    assert not BatteryRate.objects.exists()
    created = api(member(Role.OWNER_ADMIN, owner)).put(
        f"/api/v1/batteries/{battery.code}/rate", {"fee_per_kwh": "0.30"}, format="json"
    )
    assert created.status_code == 201
    driver = member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER))
    assert api(driver).get(f"/api/v1/batteries/{battery.code}/rate").json()["fee_per_kwh"] == "0.3000"


def test_calendars_with_overlapping_or_missing_windows_are_refused() -> None:
    from apps.access import Actor
    from apps.common.errors import ApplicationError

    platform = Actor.of(member(Role.PLATFORM_ADMIN, OrganisationFactory(kind=OrganisationKind.PLATFORM)))
    all_year = list(range(1, 13))
    overlapping = {"all": {"months": all_year, "windows": {"flat": [[0, 24]], "peak": [[8, 9]]}}}
    with_gap = {"all": {"months": all_year, "windows": {"flat": [[0, 23]]}}}
    missing_month = {"most": {"months": all_year[:-1], "windows": {"flat": [[0, 24]]}}}
    for seasons, code in ((overlapping, "calendar_overlap"), (with_gap, "calendar_gap"), (missing_month, "calendar_gap")):
        with pytest.raises(ApplicationError) as refused:
            services.calendar_version_publish(actor=platform, zone="test", effective_from="2027-01-01", seasons=seasons)
        assert refused.value.code == code
    assert not TouCalendarVersion.objects.filter(zone="test").exists()


def test_corridor_calendars_load_once() -> None:
    assert services.corridor_calendars_load() == 3
    assert services.corridor_calendars_load() == 0
    driver = member(Role.DRIVER, OrganisationFactory(kind=OrganisationKind.CARRIER))
    body = api(driver).get("/api/v1/tariff-zones/shanxi/calendar").json()
    assert [version["effective_from"] for version in body["versions"]] == ["2022-01-05", "2026-05-01"]
