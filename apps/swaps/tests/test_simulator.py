"""The stand-in controllers complete a swap started from the phone: against the live test server
over real HTTP (PostgreSQL pass: a live server needs a transactional test, and on SQLite the
ledger's triggers refuse the DELETEs that empty the database after one), and in-process through
Django's test client on every database."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.assets.models import Battery, BatteryLocation
from apps.billing.models import ChargingInterval
from apps.swaps.models import OrderState, SwapOrder
from apps.swaps.simulator import ControllerSimulator, stations_from_database
from apps.swaps.tests.factories import SwapWorld, swap_world

PASSWORD = "correct horse battery"
Call = Callable[..., Any]  # (method, path, body=None, token=None) -> parsed JSON


def over_http(base: str) -> Call:
    """What the phone (or the staff console) sends: JSON over HTTP with a bearer token."""

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the live test server
            return json.loads(response.read())

    return call


def in_process() -> Call:
    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.generic(method, path, json.dumps(body) if body is not None else "", content_type="application/json")
        assert response.status_code < 400, response.content
        return response.json()

    return call


def client_transport(method: str, path: str, headers: dict[str, str], body: bytes | None) -> tuple[int, Any]:
    response = APIClient().generic(method, path, body or b"", content_type="application/json", headers=headers)
    return response.status_code, response.json()


def one_swap(world: SwapWorld, simulator: ControllerSimulator, phone: Call) -> None:
    first = simulator.tick()  # heartbeat, the bay's screen code
    assert (first.errors, first.heartbeats, first.tokens) == ([], 1, 1)
    world.station.refresh_from_db()
    assert world.station.is_online()
    [station] = simulator.stations
    token, _fetched = station.tokens[1]

    driver = phone("POST", "/api/v1/auth/login", {"phone": world.driver.phone, "password": PASSWORD})["token"]
    order = phone("POST", "/api/v1/swaps/scan", {"qr": token, "plate": world.vehicle.plate}, driver)
    assert order["state"] == "queued"
    staff = phone("POST", "/api/v1/auth/login", {"phone": world.users["staff"].phone, "password": PASSWORD})["token"]
    phone("POST", f"/api/v1/stations/{world.station.code}/queue/call-next", token=staff)
    phone("POST", f"/api/v1/swaps/{order['id']}/confirm", token=staff)

    second = simulator.tick()  # the start command, executed and reported
    assert second.errors == []
    assert [(r["order"], r["outcome"]) for r in second.reports] == [(order["id"], "completed")]
    swap = SwapOrder.objects.get(pk=order["id"])
    assert swap.state == OrderState.COMPLETED
    assert (swap.bill_total_fen or 0) > 0
    returned = Battery.objects.get(pk=world.vehicle_battery.pk)
    assert (returned.location, returned.station_id) == (BatteryLocation.STATION, world.station.pk)
    assert Decimal(0) < returned.energy_kwh <= Decimal("60.000")
    assert 1 not in station.tokens  # the used code is replaced at the next tick

    third = simulator.tick()  # the returned battery charges; its interval is reported
    assert third.errors == []
    assert third.tokens == 1
    assert ChargingInterval.objects.filter(battery=returned).exists()
    final = phone("GET", f"/api/v1/swaps/{order['id']}", token=driver)
    assert final["state"] == "completed"
    assert final["bill"]["total"]["amount_fen"] == swap.bill_total_fen


def offline_world() -> SwapWorld:
    world = swap_world(stock=2)
    world.station.last_heartbeat_at = None
    world.station.save()
    return world


@pytest.mark.django_db
def test_the_simulator_completes_a_swap_started_from_the_phone() -> None:
    world = offline_world()
    stations, capacities = stations_from_database([world.station.code])
    simulator = ControllerSimulator(
        "http://testserver", stations, capacities=capacities, speed=Decimal(60), transport=client_transport
    )
    one_swap(world, simulator, in_process())


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_simulator_completes_a_swap_against_the_live_server(live_server) -> None:
    world = offline_world()
    stations, capacities = stations_from_database([world.station.code])
    simulator = ControllerSimulator(live_server.url, stations, capacities=capacities, speed=Decimal(60))
    one_swap(world, simulator, over_http(live_server.url))


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_command_keeps_the_stations_online(live_server) -> None:
    world = offline_world()
    call_command(
        "simulate_controllers",
        base_url=live_server.url,
        stations=world.station.code,
        ticks=2,
        interval=Decimal("0.1"),
        verbosity=0,
    )
    world.station.refresh_from_db()
    assert world.station.is_online()
