"""The periodic tasks: no-shows skipped, stalled swaps flagged, completed orders settled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.ledger.models import HoldStatus
from apps.swaps import tasks
from apps.swaps.models import OrderState, SwapOrder
from apps.swaps.tests.factories import advanced, swap_world

pytestmark = pytest.mark.django_db


def test_a_called_driver_who_does_not_arrive_is_skipped() -> None:
    world = swap_world(stock=3)
    late = advanced(world, "called")
    driver, vehicle = world.add_driver()
    recent = advanced(world, "called", driver=driver, vehicle=vehicle)
    SwapOrder.objects.filter(pk=late.pk).update(called_at=timezone.now() - timedelta(minutes=16))
    assert tasks.cancel_no_shows.apply().get() == 1
    late.refresh_from_db()
    recent.refresh_from_db()
    late.hold.refresh_from_db()
    assert (late.state, late.battery_held, late.hold.status) == (OrderState.CANCELLED, False, HoldStatus.VOIDED)
    transition = late.transitions.last()
    assert (transition.actor_kind, transition.cause) == ("system", "no-show: not in a bay 15 min after being called")
    assert recent.state == OrderState.CALLED
    assert tasks.cancel_no_shows.apply().get() == 0  # a second sweep finds nothing


def test_no_show_minutes_come_from_the_settings(settings) -> None:
    settings.NO_SHOW_AFTER = timedelta(minutes=2)
    world = swap_world()
    order = advanced(world, "called")
    SwapOrder.objects.filter(pk=order.pk).update(called_at=timezone.now() - timedelta(minutes=3))
    assert tasks.cancel_no_shows.apply().get() == 1


def test_a_swap_at_a_station_gone_offline_is_flagged() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    world.station.last_heartbeat_at = timezone.now() - timedelta(minutes=5)
    world.station.save()
    assert tasks.flag_stalled_swaps.apply().get() == 1
    order.refresh_from_db()
    assert (order.state, order.abnormal_reason, order.battery_held) == (OrderState.ABNORMAL, "controller_offline", True)


def test_a_swap_without_a_report_in_time_is_flagged() -> None:
    world = swap_world()
    order = advanced(world, "swapping")
    SwapOrder.objects.filter(pk=order.pk).update(confirmed_at=timezone.now() - timedelta(minutes=31))
    assert tasks.flag_stalled_swaps.apply().get() == 1
    order.refresh_from_db()
    assert (order.state, order.abnormal_reason) == (OrderState.ABNORMAL, "timeout")
    assert tasks.flag_stalled_swaps.apply().get() == 0


def test_a_running_swap_is_left_alone() -> None:
    world = swap_world()
    advanced(world, "swapping")
    assert tasks.flag_stalled_swaps.apply().get() == 0


def test_the_settle_task_settles_nothing_before_the_statements() -> None:
    world = swap_world()
    advanced(world, "completed")
    assert tasks.settle_orders.apply().get() == 0


def test_the_beat_schedule_runs_the_swap_tasks(settings) -> None:
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "apps.swaps.tasks.cancel_no_shows",
        "apps.swaps.tasks.flag_stalled_swaps",
        "apps.swaps.tasks.settle_orders",
        "apps.common.tasks.purge_idempotency_records",
    } <= schedule
