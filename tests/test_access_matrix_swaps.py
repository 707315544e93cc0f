"""The access matrix of ACCESS.md for swap orders, station queues and the controller API: each
actor × this object → allowed, 403 (sees it, may not do this), or 404 exactly like a missing
one; a refusal changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import OrganisationKind, Role, User
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.models import Battery, BatteryLocation, Bay, PackStandard
from apps.assets.tests.factories import StationFactory
from apps.ledger.models import Account, Hold
from apps.swaps.models import ControllerCommand, EnergyDeposit, OrderTransition, SwapOrder
from apps.swaps.services import swap_report
from apps.swaps.services.control import _credential_create
from apps.swaps.tests.factories import ControllerClient, SwapWorld, advanced, reading_for, swap_world, verified_driver

pytestmark = pytest.mark.django_db

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
class Matrix:
    world: SwapWorld
    users: dict[str, User | None]
    other_controller: ControllerClient


@pytest.fixture
def matrix(db) -> Matrix:
    world = swap_world(stock=3)
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER)
    other_operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    other_station = StationFactory(operator=other_operator)
    Bay.objects.create(station=other_station, number=1)
    made = _credential_create(station=other_station, created_by_id=None)
    users: dict[str, User | None] = {
        "anonymous": None,
        "driver": world.driver,
        "other_carrier_driver": verified_driver(other_carrier),
        "carrier_admin": world.users["carrier_admin"],
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "staff_of_station": world.users["staff"],
        "staff_of_other_station": member(Role.STATION_STAFF, other_operator, station=other_station),
        "operator_admin": world.users["operator_admin"],
        "other_operator_admin": member(Role.OPERATOR_ADMIN, other_operator),
        "battery_owner": world.users["owner_admin"],
        "other_battery_owner": member(Role.OWNER_ADMIN, OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)),
        "platform_admin": world.users["platform_admin"],
    }
    return Matrix(world, users, ControllerClient(made.credential.key_id, made.secret))


def client(matrix: Matrix, actor: str) -> APIClient:
    api = APIClient()
    user = matrix.users[actor]
    if user is not None:
        api.force_authenticate(user)
    return api


def state() -> Any:
    return (
        list(SwapOrder.objects.order_by("pk").values_list("pk", "state", "battery_held", "called_at", "cancelled_at")),
        OrderTransition.objects.count(),
        list(Hold.objects.order_by("pk").values_list("pk", "status")),
        list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
        ControllerCommand.objects.count(),
    )


def expect(response, actor: str, allowed: set[str], forbidden: frozenset[str] | set[str] = frozenset()) -> bool:
    """Assert the matrix's answer; True when the request was allowed."""
    if actor == "anonymous":
        assert response.status_code == 401, response.content
        return False
    if actor in allowed:
        assert response.status_code == 200, response.json()
        return True
    if actor in forbidden:
        assert response.status_code == 403, response.json()
        assert response.json()["error"]["code"] == "permission_denied"
        return False
    assert response.status_code == 404, response.json()
    assert response.json()["error"]["code"] == "not_found"
    return False


# --- GET /swaps/{id} ----------------------------------------------------------------------
SEES_ORDER = {"driver", "carrier_admin", "staff_of_station", "operator_admin", "platform_admin", "battery_owner"}


@pytest.mark.parametrize("actor", ACTORS)
def test_order_detail_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "completed")
    response = client(matrix, actor).get(f"/api/v1/swaps/{order.pk}")
    if not expect(response, actor, SEES_ORDER):
        return
    body = response.json()
    assert body["id"] == order.pk
    assert body["state"] == "completed"
    if actor == "battery_owner":
        # The owner's view: batteries, energy, its own lines; not who drove, nor which vehicle.
        assert body["view"] == "owner"
        assert (body["driver"], body["vehicle"], body["carrier"], body["bay"], body["history"], body["hold"]) == (None,) * 6
        owner = matrix.world.owner.code
        assert body["bill"]["lines"]
        assert all(owner in (line["beneficiary"], line["earner"]) for line in body["bill"]["lines"])
        assert matrix.world.driver.display_name not in response.content.decode()
        assert matrix.world.vehicle.plate not in response.content.decode()
    else:
        assert body["view"] == "full"
        assert body["driver"]["display_name"] == matrix.world.driver.display_name
        assert body["vehicle"] == matrix.world.vehicle.plate
    sees_report = actor in {"staff_of_station", "operator_admin", "platform_admin"}
    assert (body["controller_report"] is not None) == sees_report


def test_a_hidden_order_answers_like_a_missing_one(matrix: Matrix) -> None:
    order = advanced(matrix.world, "queued")
    api = client(matrix, "other_carrier_admin")
    hidden, missing = api.get(f"/api/v1/swaps/{order.pk}"), api.get("/api/v1/swaps/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


# --- The station's queue --------------------------------------------------------------------
SEES_QUEUE = {"staff_of_station", "operator_admin", "platform_admin"}


@pytest.mark.parametrize("actor", ACTORS)
def test_station_queue_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "queued")
    response = client(matrix, actor).get(f"/api/v1/stations/{matrix.world.station.code}/queue")
    if expect(response, actor, SEES_QUEUE):
        assert [row["order"] for row in response.json()["orders"]] == [order.pk]


@pytest.mark.parametrize("actor", ACTORS)
def test_call_next_by_actor(matrix: Matrix, actor: str) -> None:
    advanced(matrix.world, "queued")
    before = state()
    response = client(matrix, actor).post(f"/api/v1/stations/{matrix.world.station.code}/queue/call-next")
    if not expect(response, actor, {"staff_of_station", "operator_admin"}, forbidden={"platform_admin"}):
        assert state() == before


# --- Changing an order ------------------------------------------------------------------------
@pytest.mark.parametrize("actor", ACTORS)
def test_confirm_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "called")
    before = state()
    response = client(matrix, actor).post(f"/api/v1/swaps/{order.pk}/confirm")
    allowed = {"staff_of_station", "operator_admin"}
    if expect(response, actor, allowed, forbidden=SEES_ORDER - allowed):
        assert response.json()["state"] == "swapping"
    else:
        assert state() == before


@pytest.mark.parametrize("actor", ACTORS)
def test_cancel_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "queued")
    before = state()
    response = client(matrix, actor).post(f"/api/v1/swaps/{order.pk}/cancel")
    allowed = {"driver", "carrier_admin"}
    if expect(response, actor, allowed, forbidden=SEES_ORDER - allowed):
        assert response.json()["state"] == "cancelled"
    else:
        assert state() == before


@pytest.mark.parametrize("actor", ACTORS)
def test_abnormal_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "swapping")
    before = state()
    response = client(matrix, actor).post(f"/api/v1/swaps/{order.pk}/abnormal", {"reason": "timeout"}, format="json")
    allowed = {"staff_of_station", "operator_admin", "platform_admin"}
    if expect(response, actor, allowed, forbidden=SEES_ORDER - allowed):
        assert response.json()["abnormal"]["reason"] == "timeout"
    else:
        assert state() == before


@pytest.mark.parametrize("actor", ACTORS)
def test_resolve_by_actor(matrix: Matrix, actor: str) -> None:
    order = advanced(matrix.world, "queued")
    SwapOrder.objects.filter(pk=order.pk).update(state="abnormal", abnormal_reason="timeout", abnormal_from="queued")
    before = state()
    response = client(matrix, actor).post(f"/api/v1/swaps/{order.pk}/resolve", {"action": "cancel"}, format="json")
    allowed = {"staff_of_station", "operator_admin", "platform_admin"}
    if expect(response, actor, allowed, forbidden=SEES_ORDER - allowed):
        assert response.json()["state"] == "cancelled"
    else:
        assert state() == before


# --- A controller of another station --------------------------------------------------------
def test_another_stations_controller_sees_nothing_of_this_station(matrix: Matrix) -> None:
    order = advanced(matrix.world, "swapping")
    before = state()
    code = matrix.world.station.code
    intruder = matrix.other_controller
    answers = [
        intruder.get(f"/api/v1/station-control/{code}/commands"),
        intruder.get(f"/api/v1/station-control/{code}/bays/1/token"),
        intruder.post(f"/api/v1/station-control/{code}/heartbeat", {"slots": []}),
        intruder.post(f"/api/v1/station-control/{code}/swaps/{order.pk}/report", {}),
        intruder.post(f"/api/v1/station-control/{code}/charging", {"intervals": []}),
    ]
    assert [answer.status_code for answer in answers] == [404] * 5
    people = [intruder.get(f"/api/v1/swaps/{order.pk}"), intruder.get(f"/api/v1/stations/{code}/queue")]
    assert [answer.status_code for answer in people] == [401, 401]  # a controller is nobody on people's endpoints
    assert state() == before


# --- POST /stations/{code}/vehicles/leave -----------------------------------------------
TAKES_BATTERY_BACK = {"staff_of_station", "operator_admin", "platform_admin"}


@pytest.mark.parametrize("actor", ACTORS)
def test_taking_a_leaving_vehicles_battery_back_by_actor(matrix: Matrix, actor: str) -> None:
    world = matrix.world
    # The truck's first network battery, with its energy deposit.
    PackStandard.objects.filter(pk=world.vehicle.pack_standard_id).update(energy_deposit_fen=100_000)
    Battery.objects.filter(pk=world.vehicle_battery.pk).update(
        location=BatteryLocation.IN_TRANSIT, vehicle=None, vehicle_position=None
    )
    order = advanced_first(world)
    taken = set(Battery.objects.filter(station=world.station).values_list("station_slot", flat=True))
    slot = max(set(range(1, world.station.slot_count + 1)) - taken)
    body = {"plate": world.vehicle.plate, "battery": order.reserved_battery.code, "slot": slot, "energy_kwh": "90.000"}
    before = (state(), list(Battery.objects.order_by("pk").values_list("pk", "location", "station_slot", "vehicle_id")))
    response = client(matrix, actor).post(f"/api/v1/stations/{world.station.code}/vehicles/leave", body, format="json")
    if expect(response, actor, TAKES_BATTERY_BACK):
        assert response.json()["deposit"] == {"amount_fen": 100_000, "currency": "CNY"}
        assert EnergyDeposit.objects.get().released_at is not None
        return
    assert (state(), list(Battery.objects.order_by("pk").values_list("pk", "location", "station_slot", "vehicle_id"))) == before
    assert EnergyDeposit.objects.get().released_at is None


def advanced_first(world: SwapWorld) -> SwapOrder:
    """The world's truck, carrying no battery, swaps for its first one (no battery back)."""
    order = advanced(world, "swapping")
    reading = reading_for(order, returned_kwh=Decimal("0.000"))
    swap_report(credential=world.credential, order=order, reading=reading, payload={"first": order.pk})
    order.refresh_from_db()
    assert order.state == "completed"
    return order
