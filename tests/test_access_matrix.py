"""The access matrix of ACCESS.md for every object endpoint: each actor × this object →
allowed, or 404 exactly like a missing object."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.models import Battery, BatteryLocation, Station, Vehicle, VehicleAssignment
from apps.assets.tests.factories import BatteryFactory, StationFactory, VehicleFactory

ACTORS = [
    "anonymous",
    "driver",
    "other_carrier_driver",
    "carrier_admin",
    "other_carrier_admin",
    "staff_of_station",
    "staff_of_other_station",
    "operator_admin",
    "other_operator_admin",
    "battery_owner",
    "other_battery_owner",
    "platform_admin",
]


@dataclass
class World:
    station: Station
    other_station: Station
    battery_in_station: Battery
    battery_in_vehicle: Battery
    vehicle: Vehicle
    users: dict[str, User | None]


@pytest.fixture
def world(db) -> World:
    operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    other_operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    owner = OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)
    other_owner = OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)
    carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    platform = OrganisationFactory(kind=OrganisationKind.PLATFORM)

    station = StationFactory(operator=operator)
    other_station = StationFactory(operator=other_operator)
    vehicle = VehicleFactory(carrier=carrier)
    other_vehicle = VehicleFactory(carrier=other_carrier)
    battery_in_station = BatteryFactory(owner=owner, station=station, station_slot=1)
    BatteryFactory(owner=other_owner, station=other_station, station_slot=1)
    battery_in_vehicle = BatteryFactory(
        owner=owner, location=BatteryLocation.VEHICLE, station=None, station_slot=None, vehicle=vehicle, vehicle_position=1
    )

    users: dict[str, User | None] = {
        "anonymous": None,
        "driver": member(Role.DRIVER, carrier),
        "other_carrier_driver": member(Role.DRIVER, other_carrier),
        "carrier_admin": member(Role.CARRIER_ADMIN, carrier),
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "staff_of_station": member(Role.STATION_STAFF, operator, station=station),
        "staff_of_other_station": member(Role.STATION_STAFF, other_operator, station=other_station),
        "operator_admin": member(Role.OPERATOR_ADMIN, operator),
        "other_operator_admin": member(Role.OPERATOR_ADMIN, other_operator),
        "battery_owner": member(Role.OWNER_ADMIN, owner),
        "other_battery_owner": member(Role.OWNER_ADMIN, other_owner),
        "platform_admin": member(Role.PLATFORM_ADMIN, platform),
    }
    VehicleAssignment.objects.create(vehicle=vehicle, driver=users["driver"])
    VehicleAssignment.objects.create(vehicle=other_vehicle, driver=users["other_carrier_driver"])
    return World(station, other_station, battery_in_station, battery_in_vehicle, vehicle, users)


def client_for(world: World, actor: str) -> APIClient:
    client = APIClient()
    user = world.users[actor]
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_refused_as_anonymous(response) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def assert_not_found(response) -> None:
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- Stations: public to everyone signed in; bays only for the operator and its staff ---
SEES_BAYS = {"staff_of_station", "operator_admin", "platform_admin"}


@pytest.mark.parametrize("actor", ACTORS)
def test_station_detail_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get(f"/api/v1/stations/{world.station.code}")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        return
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == world.station.code
    assert body["stock"] == [{"pack_standard": "HT-282-LFP", "in_stock": 1, "ready": 1}]
    if actor in SEES_BAYS:
        assert body["bays"] == []
    else:
        assert body["bays"] is None


@pytest.mark.parametrize("actor", ACTORS)
def test_station_list_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get("/api/v1/stations")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        return
    assert response.status_code == 200
    assert {row["code"] for row in response.json()["results"]} == {world.station.code, world.other_station.code}


# --- Batteries: the owner; the station it is in; the vehicle that carries it ----------
SEES_BATTERY_IN_STATION = {"battery_owner", "operator_admin", "staff_of_station", "platform_admin"}
SEES_BATTERY_IN_VEHICLE = {"battery_owner", "carrier_admin", "driver", "platform_admin"}


@pytest.mark.parametrize("actor", ACTORS)
def test_battery_in_station_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get(f"/api/v1/batteries/{world.battery_in_station.code}")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    elif actor in SEES_BATTERY_IN_STATION:
        assert response.status_code == 200
        assert response.json()["station"] == world.station.code
    else:
        assert_not_found(response)


@pytest.mark.parametrize("actor", ACTORS)
def test_battery_in_vehicle_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get(f"/api/v1/batteries/{world.battery_in_vehicle.code}")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    elif actor in SEES_BATTERY_IN_VEHICLE:
        assert response.status_code == 200
        assert response.json()["vehicle"] == world.vehicle.plate
    else:
        assert_not_found(response)


@pytest.mark.parametrize("actor", ACTORS)
def test_battery_list_shows_only_visible_batteries(world: World, actor: str) -> None:
    response = client_for(world, actor).get("/api/v1/batteries")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        return
    ours = {world.battery_in_station.code, world.battery_in_vehicle.code}
    listed = {row["code"] for row in response.json()["results"]}
    expected = set()
    if actor in SEES_BATTERY_IN_STATION:
        expected.add(world.battery_in_station.code)
    if actor in SEES_BATTERY_IN_VEHICLE:
        expected.add(world.battery_in_vehicle.code)
    if actor == "platform_admin":
        assert listed == set(Battery.objects.values_list("code", flat=True))
    else:
        # Other tenants' batteries in this world belong to "other" actors; these two decide.
        assert listed & ours == expected


def test_battery_of_another_tenant_answers_like_a_missing_one(world: World) -> None:
    client = client_for(world, "other_battery_owner")
    hidden = client.get(f"/api/v1/batteries/{world.battery_in_station.code}")
    missing = client.get("/api/v1/batteries/SWBPB28XXX0001R3F0000001")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


# --- Vehicles: the carrier's admins and the assigned driver -----------------------------
SEES_VEHICLE = {"carrier_admin", "driver", "platform_admin"}


@pytest.mark.parametrize("actor", ACTORS)
def test_vehicle_detail_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get(f"/api/v1/vehicles/{quote(world.vehicle.plate)}")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    elif actor in SEES_VEHICLE:
        assert response.status_code == 200
        assert response.json()["batteries"] == [world.battery_in_vehicle.code]
    else:
        assert_not_found(response)


@pytest.mark.parametrize("actor", ACTORS)
def test_vehicle_list_by_actor(world: World, actor: str) -> None:
    response = client_for(world, actor).get("/api/v1/vehicles")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
        return
    listed = {row["plate"] for row in response.json()["results"]}
    if actor == "platform_admin":
        assert listed == set(Vehicle.objects.values_list("plate", flat=True))
    elif actor in SEES_VEHICLE:
        assert listed == {world.vehicle.plate}
    else:
        assert world.vehicle.plate not in listed


# --- Organisations: members see their own ----------------------------------------------
MEMBERS_OF_CARRIER = {"carrier_admin", "driver", "platform_admin"}


@pytest.mark.parametrize("actor", ACTORS)
def test_carrier_organisation_by_actor(world: World, actor: str) -> None:
    carrier = world.vehicle.carrier
    response = client_for(world, actor).get(f"/api/v1/orgs/{carrier.pk}")
    if actor == "anonymous":
        assert_refused_as_anonymous(response)
    elif actor in MEMBERS_OF_CARRIER:
        assert response.status_code == 200
        assert response.json()["code"] == carrier.code
    else:
        assert_not_found(response)


@pytest.mark.parametrize("path", ["/api/v1/stations", "/api/v1/batteries", "/api/v1/vehicles", "/api/v1/orgs"])
def test_read_only_endpoints_refuse_writes_and_change_nothing(world: World, path: str) -> None:
    before = (Station.objects.count(), Battery.objects.count(), Vehicle.objects.count())
    response = client_for(world, "platform_admin").post(path, {"code": "NEW"}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert (Station.objects.count(), Battery.objects.count(), Vehicle.objects.count()) == before
