"""The station-control API: signed requests only, each controller on its own station only;
heartbeats reconcile slots, tokens rotate, commands are fetched, charging is stored once; the
operator rotates the key and prints the bay codes."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.assets.models import Battery, Bay, Station
from apps.assets.tests.factories import StationFactory
from apps.billing.models import ChargingInterval
from apps.swaps import qr
from apps.swaps.bay_codes import _symbol_path
from apps.swaps.controller_auth import signed_headers
from apps.swaps.models import BatteryCondition, ControllerCommand, ControllerCredential
from apps.swaps.services.control import _credential_create
from apps.swaps.tests.factories import ControllerClient, SwapWorld, advanced, api, swap_world

pytestmark = pytest.mark.django_db


def heartbeat_path(world: SwapWorld) -> str:
    return f"/api/v1/station-control/{world.station.code}/heartbeat"


def slots_of(world: SwapWorld) -> list[dict[str, object]]:
    return [
        {"slot": b.station_slot, "battery": b.code, "soc_pct": "96.50", "energy_kwh": "268.100", "temperature_c": "31.0"}
        for b in world.stock
    ]


# --- Signatures ---------------------------------------------------------------------------
def _post(path: str, body: bytes, headers: dict[str, str]):
    return APIClient().generic("POST", path, body, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("valid", 200),
        ("tampered body", 401),
        ("wrong secret", 401),
        ("301 s old", 401),
        ("305 s in the future", 401),
        ("no signature", 401),
        ("malformed timestamp", 401),
        ("unknown key", 401),
        ("revoked key", 401),
        ("no headers", 401),
    ],
)
def test_only_a_valid_recent_signature_is_accepted(case: str, status: int) -> None:
    world = swap_world()
    world.station.last_heartbeat_at = None
    world.station.save()
    path = heartbeat_path(world)
    body = json.dumps({"slots": []}).encode()
    now = time.time()
    secret, key_id = world.secret, world.credential.key_id
    if case == "wrong secret":
        secret = "sk_not_the_secret"
    if case == "unknown key":
        key_id = "ck_unknown"
    if case == "revoked key":
        _credential_create(station=world.station, created_by_id=None)
    # The signed timestamp is whole seconds: 5 s past the window, so that rounding and a slow
    # request cannot bring it back inside.
    when = {"301 s old": now - 301, "305 s in the future": now + 305}.get(case, now)
    headers = signed_headers(key_id=key_id, secret=secret, method="POST", path=path, body=body, now=when)
    if case == "tampered body":
        body = json.dumps({"slots": [{"slot": 1}]}).encode()
    if case == "no signature":
        del headers["X-Swapnet-Signature"]
    if case == "malformed timestamp":
        headers["X-Swapnet-Timestamp"] = "yesterday"
    if case == "no headers":
        headers = {}
    response = _post(path, body, headers)
    assert response.status_code == status, response.json()
    world.station.refresh_from_db()
    assert (world.station.last_heartbeat_at is not None) == (status == 200)
    if status == 401:
        assert response.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}


def test_a_persons_token_is_no_controller() -> None:
    world = swap_world()
    login = APIClient().post(
        "/api/v1/auth/login", {"phone": world.users["operator_admin"].phone, "password": "correct horse battery"}, format="json"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['token']}")
    response = client.post(heartbeat_path(world), {"slots": []}, format="json")
    assert response.status_code == 401
    world.station.refresh_from_db()


def test_a_controller_is_not_a_person() -> None:
    world = swap_world()
    path = "/api/v1/swaps/scan"
    body = json.dumps({"qr": world.token(), "plate": world.vehicle.plate}).encode()
    headers = signed_headers(key_id=world.credential.key_id, secret=world.secret, method="POST", path=path, body=body)
    assert _post(path, body, headers).status_code == 401


# --- Another station's controller ------------------------------------------------------------
def test_a_controller_acts_only_on_its_own_station() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    other = StationFactory(operator=world.operator)
    Bay.objects.create(station=other, number=1)
    made = _credential_create(station=other, created_by_id=None)
    intruder = ControllerClient(made.credential.key_id, made.secret)
    code = world.station.code
    before = (Station.objects.get(pk=world.station.pk).last_heartbeat_at, ControllerCommand.objects.get(order=order).fetched_at)
    answers = [
        intruder.post(f"/api/v1/station-control/{code}/heartbeat", {"slots": []}),
        intruder.get(f"/api/v1/station-control/{code}/bays/1/token"),
        intruder.get(f"/api/v1/station-control/{code}/commands"),
        intruder.post(f"/api/v1/station-control/{code}/swaps/{order.pk}/report", {}),
        intruder.post(f"/api/v1/station-control/{code}/charging", {"intervals": []}),
        # Its own station's path, another station's order:
        intruder.post(
            f"/api/v1/station-control/{other.code}/swaps/{order.pk}/report",
            {
                "delivered_battery": "X",
                "returned_battery": None,
                "delivered_kwh": "1",
                "returned_kwh": "0",
                "started_at": timezone.now().isoformat(),
                "ended_at": timezone.now().isoformat(),
            },
        ),
    ]
    assert [a.status_code for a in answers] == [404] * 6
    assert {a.json()["error"]["code"] for a in answers} == {"not_found"}
    after = (Station.objects.get(pk=world.station.pk).last_heartbeat_at, ControllerCommand.objects.get(order=order).fetched_at)
    assert after == before
    order.refresh_from_db()
    assert order.state == "swapping"


# --- Heartbeats -----------------------------------------------------------------------------
def test_a_heartbeat_updates_readings_and_reports_what_it_cannot_place() -> None:
    world = swap_world()
    world.station.last_heartbeat_at = None
    world.station.save()
    slots: list[dict[str, Any]] = [
        *slots_of(world),
        {"slot": 3, "battery": "CATPB28HBJ0001PA19999999", "soc_pct": "50"},
        {"slot": 4, "battery": world.vehicle_battery.code},
        {"slot": 5, "battery": None},
    ]
    slots[0]["faults"] = ["cell_imbalance"]
    response = world.controller().post(heartbeat_path(world), {"slots": slots})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert sorted(body["updated"]) == sorted(b.code for b in world.stock)
    assert body["unknown"] == ["CATPB28HBJ0001PA19999999"]
    assert body["misplaced"] == [{"battery": world.vehicle_battery.code, "slot": 4, "platform_has_it_in": "a vehicle"}]
    assert not Battery.objects.filter(code="CATPB28HBJ0001PA19999999").exists()
    world.station.refresh_from_db()
    assert world.station.is_online()
    battery = Battery.objects.get(pk=world.stock[1].pk)
    assert (battery.charge_pct, battery.energy_kwh, battery.temperature_c) == (
        Decimal("96.50"),
        Decimal("268.100"),
        Decimal("31.0"),
    )
    assert BatteryCondition.objects.get(battery=world.stock[0]).faults == ["cell_imbalance"]


def test_a_battery_reported_faulty_is_not_handed_out() -> None:
    world = swap_world(stock=1)
    slots = slots_of(world)
    slots[0]["faults"] = ["insulation"]
    world.controller().post(heartbeat_path(world), {"slots": slots})
    response = api(world.driver).post("/api/v1/swaps/scan", {"qr": world.token(), "plate": world.vehicle.plate}, format="json")
    assert response.json()["error"]["code"] == "no_battery_available"


def test_a_heartbeat_with_a_key_is_replayed() -> None:
    world = swap_world()
    controller = world.controller()
    first = controller.post(heartbeat_path(world), {"slots": slots_of(world)}, **{"Idempotency-Key": "hb-1"})
    again = controller.post(heartbeat_path(world), {"slots": slots_of(world)}, **{"Idempotency-Key": "hb-1"})
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


# --- Tokens and commands --------------------------------------------------------------------
def test_the_screen_gets_a_fresh_signed_token_for_its_bay() -> None:
    world = swap_world()
    controller = world.controller()
    path = f"/api/v1/station-control/{world.station.code}/bays/1/token"
    first, second = controller.get(path).json(), controller.get(path).json()
    assert first["token"] != second["token"]
    assert first["lifetime_s"] == 120
    assert first["bay"] == 1
    parsed = qr.token_verify(first["token"], now=timezone.now(), lifetime=timedelta(seconds=120))
    assert parsed.bay_id == world.bay.pk


def test_a_bay_without_a_screen_has_no_rotating_token() -> None:
    world = swap_world()
    controller = world.controller()
    printed = controller.get(f"/api/v1/station-control/{world.station.code}/bays/2/token")
    assert printed.status_code == 409
    assert printed.json()["error"]["code"] == "bay_has_no_screen"
    assert controller.get(f"/api/v1/station-control/{world.station.code}/bays/9/token").status_code == 404


def test_commands_list_the_started_swaps_until_they_are_reported() -> None:
    world = swap_world()
    controller = world.controller()
    path = f"/api/v1/station-control/{world.station.code}/commands"
    assert controller.get(path).json() == {"commands": []}
    order = advanced(world, "swapping")
    commands = controller.get(path).json()["commands"]
    assert [(c["kind"], c["order"]) for c in commands] == [("start_swap", order.pk)]
    assert ControllerCommand.objects.get(order=order).fetched_at is not None
    from apps.swaps.tests.test_completion import report

    report(world, order)
    assert controller.get(path).json() == {"commands": []}


# --- Charging -------------------------------------------------------------------------------
def test_charging_intervals_are_stored_once() -> None:
    world = swap_world()
    battery = world.stock[0]
    start = timezone.now() - timedelta(hours=2)
    interval = {
        "battery": battery.code,
        "kwh": "40.250",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=1)).isoformat(),
    }
    controller = world.controller()
    path = f"/api/v1/station-control/{world.station.code}/charging"
    first = controller.post(path, {"intervals": [interval, {**interval, "battery": "CATPB28HBJ0001PA19999999"}]}).json()
    assert (first["stored"], first["duplicates"], first["unknown"]) == (1, 0, ["CATPB28HBJ0001PA19999999"])
    again = controller.post(path, {"intervals": [interval]}).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)
    changed = controller.post(path, {"intervals": [{**interval, "kwh": "41.000"}]}).json()
    assert [conflict["battery"] for conflict in changed["conflicts"]] == [battery.code]
    assert ChargingInterval.objects.filter(battery=battery, started_at=start).get().kwh == Decimal("40.250")
    backwards = controller.post(
        path, {"intervals": [{**interval, "started_at": interval["ended_at"], "ended_at": interval["started_at"]}]}
    )
    assert len(backwards.json()["invalid"]) == 1


def test_energy_numbers_are_never_floats() -> None:
    world = swap_world()
    battery = world.stock[0]
    start = timezone.now() - timedelta(hours=2)
    end = start + timedelta(minutes=5)
    # A bare JSON number (0.1 is not exact in binary floating point) must arrive as Decimal.
    interval = (
        f'{{"battery": "{battery.code}", "kwh": 0.1, "started_at": "{start.isoformat()}", "ended_at": "{end.isoformat()}"}}'
    )
    body = f'{{"intervals": [{interval}]}}'.encode()
    path = f"/api/v1/station-control/{world.station.code}/charging"
    headers = signed_headers(key_id=world.credential.key_id, secret=world.secret, method="POST", path=path, body=body)
    assert _post(path, body, headers).json()["stored"] == 1
    assert ChargingInterval.objects.get(battery=battery, started_at=start).kwh == Decimal("0.100")


# --- The operator: key rotation and bay codes ---------------------------------------------
def test_the_operator_rotates_the_key_and_the_old_one_stops_working() -> None:
    world = swap_world()
    response = api(world.users["operator_admin"]).post(f"/api/v1/stations/{world.station.code}/controller-key")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("sk_")
    assert body["key_id"].startswith("ck_")
    assert response.headers["Cache-Control"] == "no-store"
    assert world.controller().post(heartbeat_path(world), {"slots": []}).status_code == 401
    assert ControllerClient(body["key_id"], body["secret"]).post(heartbeat_path(world), {"slots": []}).status_code == 200
    stored = ControllerCredential.objects.get(key_id=body["key_id"])
    assert body["secret"] not in stored.secret_encrypted


@pytest.mark.parametrize("who", ["staff", "carrier_admin", "owner_admin", "platform_admin", None])
def test_only_the_operator_rotates_the_key(who: str | None) -> None:
    world = swap_world()
    user = world.users[who] if who else world.driver
    response = api(user).post(f"/api/v1/stations/{world.station.code}/controller-key")
    assert response.status_code == 404
    assert ControllerCredential.objects.filter(station=world.station).count() == 1


def test_the_operator_prints_the_bay_codes() -> None:
    world = swap_world()
    Bay.objects.create(station=world.station, number=3, has_screen=False)
    response = api(world.users["operator_admin"]).get(f"/api/v1/stations/{world.station.code}/bay-codes.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert 'id="bay-2"' in svg
    assert 'id="bay-3"' in svg
    assert 'id="bay-1"' not in svg
    expected, _size = _symbol_path(qr.printed_token_issue(bay_id=world.printed_bay.pk).token, 24, 88)
    assert expected in svg
    assert "Bays with a screen (rotating codes, not printed): 1" in svg


@pytest.mark.parametrize("who", ["staff", "driver", "platform_admin"])
def test_nobody_else_prints_the_bay_codes(who: str) -> None:
    world = swap_world()
    user = world.driver if who == "driver" else world.users[who]
    response = api(user).get(f"/api/v1/stations/{world.station.code}/bay-codes.svg", HTTP_ACCEPT="application/json")
    assert response.status_code == 404
