"""Who may follow ``/ws/station/<code>/`` and ``/ws/ops/``, and what each receives: the actors of
ACCESS.md against one station's world. Everyone refused is refused before the handshake
completes (HTTP 403), exactly as for a station that does not exist; everyone admitted receives
exactly their events and nothing of anyone else's."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from apps.accounts.models import CertificationStatus, OrganisationKind, Role
from apps.accounts.tests.factories import OrganisationFactory, member
from apps.assets.tests.factories import BatteryFactory, StationFactory
from apps.live.tests.conftest import opened, socket
from apps.swaps.models import SwapOrder
from apps.swaps.tests.factories import scanned, swap_world, verified_driver

pytestmark = pytest.mark.django_db(transaction=True)

ACTORS = (
    "anonymous",
    "driver",
    "other_carriers_driver",
    "carrier_admin",
    "other_carrier_admin",
    "staff",
    "other_station_staff",
    "operator_admin",
    "other_operator_admin",
    "owner_admin",
    "other_owner_admin",
    "platform_admin",
)
STATION_ALLOWED = {"staff", "operator_admin", "platform_admin"}
OPS_ALLOWED = {"operator_admin", "other_operator_admin", "owner_admin", "other_owner_admin", "platform_admin"}


@database_sync_to_async
def matrix_world() -> tuple[Any, dict[str, Any]]:
    world = swap_world()
    other_carrier = OrganisationFactory(kind=OrganisationKind.CARRIER, certification_status=CertificationStatus.CERTIFIED)
    other_operator = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    other_owner = OrganisationFactory(kind=OrganisationKind.BATTERY_OWNER)
    # Another station of the same operator, and one of another operator holding another owner's battery.
    sibling = StationFactory(operator=world.operator, last_heartbeat_at=world.station.last_heartbeat_at)
    foreign = StationFactory(operator=other_operator, last_heartbeat_at=world.station.last_heartbeat_at)
    BatteryFactory(owner=other_owner, station=foreign, station_slot=1)
    people = {
        "anonymous": None,
        "driver": world.driver,
        "other_carriers_driver": verified_driver(other_carrier),
        "carrier_admin": world.users["carrier_admin"],
        "other_carrier_admin": member(Role.CARRIER_ADMIN, other_carrier),
        "staff": world.users["staff"],
        "other_station_staff": member(Role.STATION_STAFF, world.operator, station=sibling),
        "operator_admin": world.users["operator_admin"],
        "other_operator_admin": member(Role.OPERATOR_ADMIN, other_operator),
        "owner_admin": world.users["owner_admin"],
        "other_owner_admin": member(Role.OWNER_ADMIN, other_owner),
        "platform_admin": world.users["platform_admin"],
    }
    world.others = {"sibling": sibling.code, "foreign": foreign.code}
    return world, people


@database_sync_to_async
def orders() -> int:
    return SwapOrder.objects.count()


@pytest.mark.parametrize("who", ACTORS)
async def test_the_station_stream_admits_only_those_who_see_its_queue(application, who: str) -> None:
    world, people = await matrix_world()
    sock = await socket(application, f"/ws/station/{world.station.code}/", user=people[who])
    try:
        connected = await sock.connect()
        assert connected is (who in STATION_ALLOWED)
        if connected:
            snapshot = await sock.receive()
            assert (snapshot["type"], snapshot["stream"]) == ("snapshot", f"station:{world.station.code}")
            assert snapshot["data"]["queue"] == {"station": world.station.code, "waiting": 0, "orders": []}
            assert snapshot["data"]["inventory"]["stock"] == [
                {"pack_standard": world.vehicle.pack_standard.code, "in_slots": 2, "ready": 2}
            ]
        assert await orders() == 0
    finally:
        await sock.close()


@pytest.mark.parametrize("who", ACTORS)
async def test_the_ops_stream_admits_operators_owners_and_the_platform(application, who: str) -> None:
    world, people = await matrix_world()
    sock = await socket(application, "/ws/ops/", user=people[who])
    try:
        connected = await sock.connect()
        assert connected is (who in OPS_ALLOWED)
        if connected:
            snapshot = await sock.receive()
            assert snapshot["stream"] == "ops"
            stations = {row["station"] for row in snapshot["data"]["stations"]}
            expected = {
                "operator_admin": {world.station.code, world.others["sibling"]},
                "other_operator_admin": {world.others["foreign"]},
                "owner_admin": set(),
                "other_owner_admin": set(),
                "platform_admin": {world.station.code, *world.others.values()},
            }[who]
            assert stations == expected
            if who == "owner_admin":
                assert [row["station"] for row in snapshot["data"]["owner_stock"]] == [world.station.code]
            if who == "other_owner_admin":
                assert world.station.code not in [row["station"] for row in snapshot["data"]["owner_stock"]]
        assert await orders() == 0
    finally:
        await sock.close()


async def test_a_station_that_does_not_exist_is_refused_like_one_not_yours(application) -> None:
    _world, people = await matrix_world()
    sock = await socket(application, "/ws/station/SWN-NOPE-1/", user=people["platform_admin"])
    try:
        assert not await sock.connect()
    finally:
        await sock.close()


async def test_each_admitted_actor_receives_exactly_its_events_of_a_scan(application) -> None:
    world, people = await matrix_world()
    code = world.station.code
    standard = world.vehicle.pack_standard.code
    station_socks = {who: (await opened(application, f"/ws/station/{code}/", user=people[who]))[0] for who in STATION_ALLOWED}
    ops_socks = {who: (await opened(application, "/ws/ops/", user=people[who]))[0] for who in OPS_ALLOWED}
    try:
        order = await database_sync_to_async(scanned)(world)
        for who, sock in station_socks.items():
            state, queue, inventory = await sock.receive(), await sock.receive(), await sock.receive()
            assert (state["type"], state["data"]) == ("order.state", {"order": order.pk, "state": "queued", "station": code}), who
            assert queue["type"] == "queue.changed"
            assert [(row["order"], row["state"], row["position"], row["plate"]) for row in queue["data"]["orders"]] == [
                (order.pk, "queued", 1, world.vehicle.plate)
            ]
            assert (inventory["type"], inventory["data"]) == (
                "inventory",
                {"station": code, "stock": [{"pack_standard": standard, "in_slots": 2, "ready": 1}]},
            )
            assert state["seq"] < queue["seq"] < inventory["seq"]
            assert {state["stream"], queue["stream"], inventory["stream"]} == {f"station:{code}"}
        for who in ("operator_admin", "platform_admin", "owner_admin"):
            inventory = await ops_socks[who].receive()
            assert (inventory["type"], inventory["stream"]) == ("inventory", "ops"), who
            assert inventory["data"] == {"station": code, "stock": [{"pack_standard": standard, "in_slots": 2, "ready": 1}]}
        for who, sock in [*station_socks.items(), *ops_socks.items()]:
            assert await sock.nothing(timeout=0.3), who
    finally:
        for sock in [*station_socks.values(), *ops_socks.values()]:
            await sock.close()
