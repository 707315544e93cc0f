"""The publisher's reads (``apps.live.selectors``) read a station's queue and stock once per event
and derive the rest; these tests hold what they derive equal to the plain reads they replace."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from apps.access import Actor
from apps.assets.models import Battery, BatteryLocation
from apps.live import selectors
from apps.swaps import selectors as swap_selectors
from apps.swaps.models import AbnormalReason, SwapOrder
from apps.swaps.services.completion import swap_mark_abnormal
from apps.swaps.tests.factories import advanced, swap_world

pytestmark = pytest.mark.django_db


def _busy_station() -> Any:
    """A station with orders swapping, called, queued (two) and abnormal, in that queue order."""
    world = swap_world(stock=6)
    others = [world.add_driver() for _ in range(4)]
    advanced(world, "swapping")
    advanced(world, "called", driver=others[0][0], vehicle=others[0][1])
    for driver, vehicle in others[1:]:
        advanced(world, "queued", driver=driver, vehicle=vehicle)
    troubled = SwapOrder.objects.filter(driver=others[3][0]).get()
    swap_mark_abnormal(actor=Actor.of(world.users["staff"]), order=troubled, reason=AbnormalReason.BATTERY_TOO_HOT)
    return world


def test_each_orders_position_and_wait_equal_the_plain_queue_position() -> None:
    world = _busy_station()
    orders = list(SwapOrder.objects.filter(station=world.station).select_related("station"))
    assert Counter(order.state for order in orders) == {"swapping": 1, "called": 1, "queued": 2, "abnormal": 1}
    for order in orders:
        facts = selectors.order_facts(order_id=order.pk)
        plain = swap_selectors.queue_position(order=order)
        assert facts is not None
        assert facts.position == (None if plain is None else plain.position), order.state
        assert facts.expected_wait_s == (None if plain is None else int(plain.expected_wait_minutes * 60)), order.state
    assert sorted(f.position for o in orders if (f := selectors.order_facts(order_id=o.pk)) and f.position) == [2, 3, 4]


def test_the_line_and_the_staff_queue_equal_the_plain_station_queue() -> None:
    world = _busy_station()
    plain = swap_selectors.station_queue(station=world.station)
    event = selectors.order_event_read(order_id=plain[0].pk)
    assert event is not None
    line = event.queue.line()
    assert line.order_ids == [order.pk for order in plain if order.state in selectors.LINE_STATES]
    assert line.mean_swap_s == int(world.station.mean_swap_minutes * 60)
    queue = selectors.station_queue_json(station=world.station)
    assert queue == event.queue.json()
    waiting = [order for order in plain if order.state in ("queued", "called")]
    assert queue["waiting"] == len(waiting) == 3
    assert [(row["order"], row["state"], row["plate"], row["bay"], row["position"]) for row in queue["orders"]] == [
        (order.pk, order.state, order.vehicle.plate, order.bay.number, waiting.index(order) + 1 if order in waiting else None)
        for order in plain
    ]


def test_the_stock_per_station_and_per_owner_equals_counting_the_batteries() -> None:
    world = _busy_station()
    in_slots = list(Battery.objects.filter(location=BatteryLocation.STATION, station=world.station))
    ready = set(swap_selectors.ready_battery_queryset().filter(station=world.station).values_list("pk", flat=True))
    assert 0 < len(ready) < len(in_slots)  # some are held by the orders
    stock = selectors.stock_read([world.station.pk])
    code = world.station.pack_standards.get().code
    assert stock.of_station(world.station.pk) == [{"pack_standard": code, "in_slots": len(in_slots), "ready": len(ready)}]
    assert stock.owners(world.station.pk) == {battery.owner_id for battery in in_slots}
    [owner] = stock.owners(world.station.pk)
    assert stock.of_owner(world.station.pk, owner) == stock.of_station(world.station.pk)
    assert stock.of_owner(world.station.pk, world.carrier.pk) == []
    only_others = selectors.stock_read([world.station.pk], owner_ids={world.carrier.pk})
    assert only_others.of_station(world.station.pk) == []
