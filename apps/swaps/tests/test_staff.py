"""Station staff: the queue, calling the next vehicle, confirming it in the bay; drivers cancel;
the state machine refuses what it does not allow, and every transition is stored."""

from __future__ import annotations

import pytest

from apps.access import Actor
from apps.common.errors import Conflict
from apps.ledger.models import AccountPurpose, HoldStatus
from apps.swaps import services
from apps.swaps.models import ControllerCommand, OrderState, OrderTransition, SwapOrder
from apps.swaps.services.transitions import ALLOWED
from apps.swaps.tests.factories import advanced, api, scanned, swap_world
from apps.swaps.tests.test_completion import balance

pytestmark = pytest.mark.django_db


def test_staff_see_the_queue_with_plates_names_and_masked_phones() -> None:
    world = swap_world(stock=3)
    first = scanned(world)
    driver, vehicle = world.add_driver()
    second = scanned(world, driver=driver, vehicle=vehicle)
    response = api(world.users["staff"]).get(f"/api/v1/stations/{world.station.code}/queue")
    assert response.status_code == 200
    body = response.json()
    assert (body["station"], body["waiting"], body["mean_swap_minutes"]) == (world.station.code, 2, "5.0")
    rows = [(o["order"], o["state"], o["position"], o["plate"], o["driver"], o["phone_masked"]) for o in body["orders"]]
    assert rows == [
        (first.pk, "queued", 1, world.vehicle.plate, world.driver.display_name, world.driver.masked_phone),
        (second.pk, "queued", 2, vehicle.plate, driver.display_name, driver.masked_phone),
    ]
    assert world.driver.phone not in response.content.decode()


def test_call_next_calls_the_first_come() -> None:
    world = swap_world(stock=3)
    first = scanned(world)
    driver, vehicle = world.add_driver()
    second = scanned(world, driver=driver, vehicle=vehicle)
    staff = api(world.users["staff"])
    path = f"/api/v1/stations/{world.station.code}/queue/call-next"
    assert staff.post(path).json()["id"] == first.pk
    assert staff.post(path).json()["id"] == second.pk
    empty = staff.post(path)
    assert empty.status_code == 409
    assert empty.json()["error"]["code"] == "queue_empty"
    assert set(SwapOrder.objects.values_list("state", flat=True)) == {OrderState.CALLED}


def test_a_retried_call_next_with_its_key_does_not_call_a_second_vehicle() -> None:
    world = swap_world(stock=3)
    scanned(world)
    driver, vehicle = world.add_driver()
    second = scanned(world, driver=driver, vehicle=vehicle)
    staff = api(world.users["staff"])
    path = f"/api/v1/stations/{world.station.code}/queue/call-next"
    assert (
        staff.post(path, headers={"Idempotency-Key": "c1"}).json() == staff.post(path, headers={"Idempotency-Key": "c1"}).json()
    )
    second.refresh_from_db()
    assert second.state == OrderState.QUEUED


def test_confirming_starts_the_swap_and_commands_the_controller() -> None:
    world = swap_world()
    order = advanced(world, "called")
    response = api(world.users["staff"]).post(f"/api/v1/swaps/{order.pk}/confirm")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "swapping"
    command = ControllerCommand.objects.get(order=order)
    assert command.payload == {
        "order": order.pk,
        "bay": 1,
        "plate": world.vehicle.plate,
        "deliver": {
            "battery": order.reserved_battery.code,
            "slot": order.reserved_battery.station_slot,
            "energy_kwh": str(order.reserved_battery.energy_kwh),
        },
        "receive": {"battery": world.vehicle_battery.code, "vehicle_position": 1, "last_energy_kwh": "60.000"},
    }


def test_a_queued_order_is_not_confirmed_before_it_is_called() -> None:
    world = swap_world()
    order = advanced(world, "queued")
    response = api(world.users["staff"]).post(f"/api/v1/swaps/{order.pk}/confirm")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    order.refresh_from_db()
    assert order.state == OrderState.QUEUED
    assert not ControllerCommand.objects.exists()


def test_one_swap_at_a_time_in_a_bay() -> None:
    world = swap_world(stock=3)
    advanced(world, "swapping")
    driver, vehicle = world.add_driver()
    second = advanced(world, "called", driver=driver, vehicle=vehicle)
    response = api(world.users["staff"]).post(f"/api/v1/swaps/{second.pk}/confirm")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "bay_busy"
    second.refresh_from_db()
    assert second.state == OrderState.CALLED


def test_the_driver_cancels_before_the_swap_and_the_hold_is_voided() -> None:
    world = swap_world()
    order = advanced(world, "called")
    response = api(world.driver).post(f"/api/v1/swaps/{order.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    order.refresh_from_db()
    order.hold.refresh_from_db()
    assert (order.battery_held, order.hold.status) == (False, HoldStatus.VOIDED)
    assert balance(world.carrier, AccountPurpose.WALLET) == 500_000
    # The battery is free for the next driver.
    driver, vehicle = world.add_driver()
    assert scanned(world, driver=driver, vehicle=vehicle).reserved_battery_id is not None


def test_the_swap_once_started_is_not_cancelled_by_the_driver() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    response = api(world.driver).post(f"/api/v1/swaps/{order.pk}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "illegal_transition"
    order.refresh_from_db()
    assert order.state == OrderState.SWAPPING


def test_staff_mark_an_order_abnormal_with_a_known_reason() -> None:
    world = swap_world()
    order = advanced(world, "queued")
    staff = api(world.users["staff"])
    bad = staff.post(f"/api/v1/swaps/{order.pk}/abnormal", {"reason": "bored"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "abnormal_reason_invalid"
    good = staff.post(
        f"/api/v1/swaps/{order.pk}/abnormal",
        {"reason": "battery_too_hot", "detail": "58 °C at the bay"},
        format="json",
    )
    assert good.status_code == 200
    assert good.json()["abnormal"] == {
        "reason": "battery_too_hot",
        "words": "电池温度过高，不能换出。",  # zh-Hans, the default language
        "detail": "58 °C at the bay",
        "from_state": "queued",
    }


def test_every_transition_is_stored_with_its_actor_and_cause() -> None:
    world = swap_world()
    order = advanced(world, "completed")
    rows = list(OrderTransition.objects.filter(order=order).values_list("from_state", "to_state", "actor_kind", "actor_user_id"))
    staff = world.users["staff"].pk
    assert rows == [
        ("", "requested", "user", world.driver.pk),
        ("requested", "queued", "user", world.driver.pk),
        ("queued", "called", "user", staff),
        ("called", "swapping", "user", staff),
        ("swapping", "completed", "controller", None),
    ]


@pytest.mark.parametrize(("state", "to"), [(s, t) for s in OrderState.values for t in OrderState.values if t not in ALLOWED[s]])
def test_the_state_machine_refuses_what_it_does_not_allow(state: str, to: str) -> None:
    order = SwapOrder(state=state)
    with pytest.raises(Conflict) as refused:
        services.transitions.require_transition(order, to)
    assert refused.value.code == "illegal_transition"
    assert refused.value.status_code == 409


def test_finished_orders_cannot_be_cancelled_or_flagged() -> None:
    world = swap_world()
    order = advanced(world, "queued")
    services.swap_cancel(actor=Actor.of(world.driver), order=order)
    for response in (
        api(world.driver).post(f"/api/v1/swaps/{order.pk}/cancel"),
        api(world.users["staff"]).post(f"/api/v1/swaps/{order.pk}/abnormal", {"reason": "timeout"}, format="json"),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "illegal_transition"
