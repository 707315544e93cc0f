"""The pages' reads that no API needed before. Every query starts from what ``apps.access``
lets the actor see; the domain selectors are used for everything else."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.access import Actor, visible_batteries, visible_stations
from apps.access import swaps as swap_access
from apps.assets.models import Battery, Station
from apps.swaps.models import ACTIVE_STATES, OrderState, SwapOrder


def driver_orders(*, actor: Actor) -> QuerySet[SwapOrder]:
    """The actor's own orders (as the driver), newest first."""
    return (
        swap_access.visible_orders(actor)
        .filter(driver_id=actor.user_id)
        .select_related("station", "vehicle", "bay")
        .order_by("-created_at", "-pk")
    )


def driver_active_order(*, actor: Actor) -> SwapOrder | None:
    """The driver's order in progress, or the latest one that needs attention (abnormal)."""
    orders = driver_orders(actor=actor)
    return (
        orders.filter(state__in=ACTIVE_STATES).first()
        or orders.filter(state=OrderState.ABNORMAL, created_at__gte=timezone.now() - timedelta(days=1)).first()
    )


def staff_stations(*, actor: Actor) -> list[Station]:
    """The stations whose queue the actor works: staff's own, an operator admin's all."""
    stations = visible_stations(actor).filter(Q(pk__in=actor.staff_of_stations) | Q(operator_id__in=actor.operator_admin_of))
    return list(stations.select_related("operator").order_by("code"))


def station_day_orders(*, actor: Actor, station: Station, since: datetime) -> QuerySet[SwapOrder]:
    """The station's orders made or ended since ``since`` (a local midnight), newest first."""
    return (
        swap_access.visible_orders(actor)
        .filter(station=station)
        .filter(Q(created_at__gte=since) | Q(completed_at__gte=since) | Q(cancelled_at__gte=since))
        .select_related("vehicle", "bay", "delivered_battery", "returned_battery")
        .order_by("-created_at", "-pk")
    )


def station_slots(*, actor: Actor, station: Station) -> list[Battery]:
    """The batteries in the station's slots (that the actor sees), by slot."""
    return list(
        visible_batteries(actor)
        .filter(station=station, station_slot__isnull=False)
        .select_related("pack_standard", "owner")
        .order_by("station_slot")
    )
