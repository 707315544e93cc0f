"""``/ws/driver/``: the driver's own orders, their queue position and bill, and the wallet for
those who may read it; nothing of anyone else's."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from apps.access import Actor
from apps.accounts.models import CertificationStatus, OrganisationKind, Role
from apps.accounts.tests.factories import OrganisationFactory
from apps.assets.models import VehicleAssignment
from apps.live.tests.conftest import opened, types_until
from apps.swaps.models import SwapOrder
from apps.swaps.services import swap_cancel
from apps.swaps.tests.factories import scanned, swap_world, top_up, vehicle_battery, verified_driver

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _world(**kwargs: Any) -> Any:
    return swap_world(**kwargs)


@database_sync_to_async
def _scan(world: Any, **who: Any) -> SwapOrder:
    return scanned(world, **who)


async def test_a_driver_gets_the_snapshot_then_their_own_order_its_position_and_quote(application) -> None:
    world = await _world()
    sock, snapshot = await opened(application, "/ws/driver/", user=world.driver)
    try:
        assert snapshot["stream"] == "driver"
        assert snapshot["data"] == {"orders": [], "wallets": []}
        order = await _scan(world)
        state, position, quoted = await sock.receive(), await sock.receive(), await sock.receive()
        assert (state["type"], state["data"]) == (
            "order.state",
            {"order": order.pk, "state": "queued", "station": world.station.code},
        )
        assert (position["type"], position["data"]) == (
            "queue.position",
            {"order": order.pk, "station": world.station.code, "position": 1, "expected_wait_s": 0},
        )
        assert (quoted["type"], quoted["data"]) == (
            "bill.quoted",
            {"order": order.pk, "total": {"amount_fen": order.quote_total_fen, "currency": "CNY"}},
        )
        assert snapshot["seq"] < state["seq"] < position["seq"] < quoted["seq"]
        assert {m["stream"] for m in (state, position, quoted)} == {"driver"}
        assert await sock.nothing()  # a fleet driver gets no wallet balance
    finally:
        await sock.close()


async def test_another_driver_hears_nothing_of_it(application) -> None:
    world = await _world()

    @database_sync_to_async
    def other_carriers_driver() -> Any:
        carrier = OrganisationFactory(kind=OrganisationKind.CARRIER, certification_status=CertificationStatus.CERTIFIED)
        return verified_driver(carrier)

    other = await other_carriers_driver()
    sock, snapshot = await opened(application, "/ws/driver/", user=other)
    try:
        await _scan(world)
        assert await sock.nothing()
        assert snapshot["data"] == {"orders": [], "wallets": []}
    finally:
        await sock.close()


async def test_the_payers_admin_gets_the_wallet_balance_as_money_moves(application) -> None:
    world = await _world(wallet_fen=500_000)
    admin = world.users["carrier_admin"]
    sock, snapshot = await opened(application, "/ws/driver/", user=admin)
    try:
        assert snapshot["data"]["wallets"] == [
            {
                "organisation": world.carrier.pk,
                "balance": {"amount_fen": 500_000, "currency": "CNY"},
                "held": {"amount_fen": 0, "currency": "CNY"},
                "available": {"amount_fen": 500_000, "currency": "CNY"},
            }
        ]
        order = await _scan(world)
        [balance] = [await sock.receive()]
        quote = order.quote_total_fen
        assert balance["type"] == "wallet.balance"
        assert balance["data"] == {
            "organisation": world.carrier.pk,
            "balance": {"amount_fen": 500_000, "currency": "CNY"},
            "held": {"amount_fen": quote, "currency": "CNY"},
            "available": {"amount_fen": 500_000 - quote, "currency": "CNY"},
        }
        assert await sock.nothing()  # not the driver's order events
    finally:
        await sock.close()


async def test_an_individual_driver_sees_their_own_wallet(application) -> None:
    world = await _world()

    @database_sync_to_async
    def owner_driver() -> Any:
        own = OrganisationFactory(kind=OrganisationKind.INDIVIDUAL, certification_status=CertificationStatus.CERTIFIED)
        driver = verified_driver(own)
        Membership = driver.memberships.model
        Membership.objects.create(user=driver, organisation=own, role=Role.CARRIER_ADMIN)
        top_up(own, 300_000)
        from apps.assets.tests.factories import VehicleFactory

        vehicle = VehicleFactory(carrier=own, pack_standard=world.vehicle.pack_standard)
        VehicleAssignment.objects.create(vehicle=vehicle, driver=driver)
        vehicle_battery(vehicle, owner=world.owner, energy=world.vehicle_battery.energy_kwh)
        return driver, vehicle, own

    driver, vehicle, own = await owner_driver()
    sock, snapshot = await opened(application, "/ws/driver/", user=driver)
    try:
        assert [w["organisation"] for w in snapshot["data"]["wallets"]] == [own.pk]
        order = await _scan(world, driver=driver, vehicle=vehicle)
        messages = await types_until(sock, "wallet.balance")
        assert [m["type"] for m in messages] == ["order.state", "queue.position", "bill.quoted", "wallet.balance"]
        assert messages[-1]["data"]["held"] == {"amount_fen": order.quote_total_fen, "currency": "CNY"}
    finally:
        await sock.close()


async def test_a_waiting_driver_hears_their_position_move_when_the_one_ahead_leaves(application) -> None:
    world = await _world(stock=3)
    second_driver, second_vehicle = await database_sync_to_async(world.add_driver)()
    first = await _scan(world)
    second = await _scan(world, driver=second_driver, vehicle=second_vehicle)
    sock, snapshot = await opened(application, "/ws/driver/", user=second_driver)
    try:
        [mine] = snapshot["data"]["orders"]
        assert (mine["order"], mine["state"], mine["position"]) == (second.pk, "queued", 2)
        assert mine["expected_wait_s"] == int(world.station.mean_swap_minutes * 60)
        await database_sync_to_async(swap_cancel)(actor=await database_sync_to_async(Actor.of)(world.driver), order=first)
        moved = await sock.receive()
        assert moved["type"] == "queue.position"
        assert moved["data"] == {"order": second.pk, "station": world.station.code, "position": 1, "expected_wait_s": 0}
        assert await sock.nothing()  # not the first driver's cancellation
    finally:
        await sock.close()
