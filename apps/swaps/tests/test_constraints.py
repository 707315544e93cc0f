"""The database itself refuses a second active order per vehicle, driver and battery, a second
swap in a bay, a reused QR nonce, and orders whose battery flag contradicts their state."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from apps.swaps.models import OrderState, QrKind, SwapOrder
from apps.swaps.tests.factories import advanced, swap_world

pytestmark = pytest.mark.django_db


def copy_of(order: SwapOrder, **changes: Any) -> SwapOrder:
    fields = {
        field.attname: getattr(order, field.attname)
        for field in SwapOrder._meta.concrete_fields
        if field.attname not in ("id", "hold_id", "payment_transaction_id", "created_at", "updated_at")
    }
    fields["qr_nonce"] = None
    fields["qr_kind"] = QrKind.PRINTED
    fields.update(changes)
    return SwapOrder(**fields)


def refused(order: SwapOrder) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        order.save()


@pytest.fixture
def world_and_order():
    world = swap_world(stock=3)
    return world, advanced(world, "queued")


def test_one_active_order_per_vehicle(world_and_order) -> None:
    world, order = world_and_order
    driver, _vehicle = world.add_driver()
    refused(copy_of(order, driver_id=driver.pk, reserved_battery_id=world.stock[2].pk))


def test_one_active_order_per_driver(world_and_order) -> None:
    world, order = world_and_order
    _driver, vehicle = world.add_driver()
    refused(copy_of(order, vehicle_id=vehicle.pk, reserved_battery_id=world.stock[2].pk))


def test_one_order_holds_a_battery(world_and_order) -> None:
    world, order = world_and_order
    driver, vehicle = world.add_driver()
    refused(copy_of(order, driver_id=driver.pk, vehicle_id=vehicle.pk))


def test_a_finished_order_frees_its_driver_vehicle_and_battery(world_and_order) -> None:
    _world, order = world_and_order
    copy_of(order, state=OrderState.CANCELLED, battery_held=False).save()
    assert SwapOrder.objects.count() == 2


def test_one_swap_per_bay(world_and_order) -> None:
    world, order = world_and_order
    SwapOrder.objects.filter(pk=order.pk).update(state=OrderState.SWAPPING)
    driver, vehicle = world.add_driver()
    refused(
        copy_of(
            order, driver_id=driver.pk, vehicle_id=vehicle.pk, reserved_battery_id=world.stock[2].pk, state=OrderState.SWAPPING
        )
    )


def test_a_qr_nonce_makes_one_order(world_and_order) -> None:
    world, order = world_and_order
    driver, vehicle = world.add_driver()
    refused(
        copy_of(
            order,
            driver_id=driver.pk,
            vehicle_id=vehicle.pk,
            reserved_battery_id=world.stock[2].pk,
            qr_kind=QrKind.SCREEN,
            qr_nonce=order.qr_nonce,
        )
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"state": OrderState.QUEUED, "battery_held": False},
        {"state": OrderState.COMPLETED, "battery_held": True, "bill_total_fen": 1},
        {"state": OrderState.COMPLETED, "battery_held": False, "bill_total_fen": None},
        {"state": OrderState.ABNORMAL, "abnormal_reason": ""},
        {"qr_kind": QrKind.SCREEN, "qr_nonce": None},
        {"quote_total_fen": -1},
    ],
)
def test_orders_that_contradict_themselves_are_refused(world_and_order, changes) -> None:
    _world, order = world_and_order
    with pytest.raises(IntegrityError), transaction.atomic():
        SwapOrder.objects.filter(pk=order.pk).update(**changes)
