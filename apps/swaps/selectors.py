"""Reads of swap orders, queues, batteries ready to hand out and battery custody.

Functions that take an ``actor`` serve the API and filter through ``apps.access.swaps``: what the
actor may not see answers 404 exactly like what does not exist. The others are the services'
reads of plain facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps import access
from apps.access import Actor
from apps.access import swaps as swap_access
from apps.accounts.models import Organisation
from apps.assets.models import Battery, BatteryLocation, Station
from apps.billing.models import BatteryRate, health_grade
from apps.common.compiled import CompiledRead, concrete_columns, instance_at
from apps.common.errors import NotFound
from apps.swaps.models import (
    ACTIVE_STATES,
    QUEUE_STATES,
    BatteryCustodyEvent,
    ControllerCommand,
    CustodyKind,
    OrderLine,
    OrderState,
    OrderTransition,
    SwapOrder,
)

ORDER_RELATIONS = (
    "driver",
    "carrier",
    "vehicle",
    "station__operator",
    "bay",
    "reserved_battery",
    "expected_return_battery",
    "delivered_battery",
    "returned_battery",
    "hold",
)


# --- Orders -----------------------------------------------------------------------------
def order_get(*, actor: Actor, order_id: int) -> SwapOrder:
    """The order, if the actor sees it (``apps.access.swaps.order_view``), with its lines and
    history; else 404."""
    order = (
        SwapOrder.objects.select_related(*ORDER_RELATIONS)
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("beneficiary", "earner").order_by("stage", "position")),
            Prefetch(
                "transitions",
                queryset=OrderTransition.objects.select_related("actor_user", "actor_controller").order_by("at", "pk"),
            ),
        )
        .filter(pk=order_id)
        .first()
    )
    if order is None or swap_access.order_view(actor, order) is None:
        raise NotFound("swap order")
    return order


@dataclass(frozen=True)
class QueuePosition:
    position: int  # 1: next
    ahead: int
    expected_wait_minutes: Decimal


def queue_position(*, order: SwapOrder) -> QueuePosition | None:
    """Where a waiting order stands: the station's orders queued, called or swapping before it
    (first come, first served over all the station's bays), times the mean swap time."""
    if order.state not in QUEUE_STATES or order.queued_at is None:
        return None
    ahead = (
        SwapOrder.objects.filter(station_id=order.station_id, state__in=[*QUEUE_STATES, OrderState.SWAPPING])
        .filter(Q(queued_at__lt=order.queued_at) | Q(queued_at=order.queued_at, pk__lt=order.pk))
        .count()
    )
    minutes = (order.station.mean_swap_minutes * ahead).quantize(Decimal("0.1"))
    return QueuePosition(position=ahead + 1, ahead=ahead, expected_wait_minutes=minutes)


def station_for_queue(*, actor: Actor, code: str) -> Station:
    """A station whose queue the actor sees (staff, operator admins, platform); else 404."""
    station = access.visible_stations(actor).select_related("operator").filter(code=code.strip().upper()).first()
    if station is None or not swap_access.sees_station_queue(actor, station):
        raise NotFound("station")
    return station


def station_for_take_back(*, actor: Actor, code: str) -> Station:
    """A station where the actor may take a leaving vehicle's battery back (its staff, operator
    admins, the platform); else 404."""
    station = access.visible_stations(actor).select_related("operator").filter(code=code.strip().upper()).first()
    if station is None or not swap_access.may_take_back_battery(actor, station):
        raise NotFound("station")
    return station


def station_queue_orders(*, station_id: int) -> QuerySet[SwapOrder]:
    """The station's orders waiting, called, swapping, or abnormal and unresolved, in queue order."""
    return (
        SwapOrder.objects.filter(station_id=station_id)
        .filter(Q(state__in=ACTIVE_STATES) | Q(state=OrderState.ABNORMAL))
        .order_by("queued_at", "pk")
    )


def station_queue(*, station: Station) -> list[SwapOrder]:
    """``station_queue_orders`` with their drivers, vehicles, bays and reserved batteries."""
    return list(station_queue_orders(station_id=station.pk).select_related("driver", "vehicle", "bay", "reserved_battery"))


def station_internals_get(*, actor: Actor, code: str) -> Station:
    """A station whose controller key and bay codes the actor manages (its operator admins); else 404."""
    station = access.visible_stations(actor).select_related("operator").filter(code=code.strip().upper()).first()
    if station is None or not swap_access.may_manage_controller_key(actor, station):
        raise NotFound("station")
    return station


def spent_on_day(*, driver_id: int, carrier_id: int, day: date) -> int:
    """What the driver's orders for the carrier on that local day cost or are held for: the bill of
    completed ones, the quote of the others; cancelled ones cost nothing."""
    start = datetime.combine(day, time(), tzinfo=timezone.get_default_timezone())
    orders = SwapOrder.objects.filter(
        driver_id=driver_id, carrier_id=carrier_id, created_at__gte=start, created_at__lt=start + timedelta(days=1)
    ).exclude(state=OrderState.CANCELLED)
    total = orders.aggregate(total=Sum(Coalesce("bill_total_fen", "quote_total_fen")))["total"]
    return int(total or 0)


# --- Batteries --------------------------------------------------------------------------
def ready_battery_queryset() -> QuerySet[Battery]:
    """Batteries in a station's slots that may be handed out now: charged to the ready level, not
    too hot, without a reported fault, not held by an order (any station, any pack standard)."""
    return (
        Battery.objects.filter(location=BatteryLocation.STATION, charge_pct__gte=settings.BATTERY_READY_MIN_CHARGE_PCT)
        .filter(Q(temperature_c__isnull=True) | Q(temperature_c__lte=settings.BATTERY_MAX_TEMPERATURE_C))
        .exclude(condition__has_fault=True)
        .exclude(pk__in=SwapOrder.objects.filter(battery_held=True).values("reserved_battery_id"))
    )


# Compiled reads of ready batteries, by the settings they were built with (tests change them).
_ready_reads: dict[tuple[object, ...], tuple[CompiledRead, CompiledRead]] = {}


def _ready_read(*, excluding: bool) -> CompiledRead:
    key = (settings.BATTERY_READY_MIN_CHARGE_PCT, settings.BATTERY_MAX_TEMPERATURE_C)
    if key not in _ready_reads:
        columns = (*concrete_columns(Battery), *concrete_columns(Organisation, "owner__"))

        def fullest(station_id: int, pack_standard_id: int) -> QuerySet[Battery]:
            return (
                ready_battery_queryset()
                .filter(station_id=station_id, pack_standard_id=pack_standard_id)
                .order_by("-energy_kwh", "pk")
            )

        _ready_reads[key] = (
            CompiledRead(lambda station_id, pack_standard_id: fullest(station_id, pack_standard_id).values_list(*columns)[:16]),
            CompiledRead(
                lambda station_id, pack_standard_id, exclude: (
                    fullest(station_id, pack_standard_id).exclude(pk__in=exclude).values_list(*columns)[:16]
                )
            ),
        )
    return _ready_reads[key][excluding]


def ready_batteries(*, station: Station, pack_standard_id: int, exclude: set[int] | None = None) -> list[Battery]:
    """Batteries the station may hand out now for this pack standard (``ready_battery_queryset``),
    with their owners. Fullest first, at most 16."""
    if exclude:
        rows = _ready_read(excluding=True)(station_id=station.pk, pack_standard_id=pack_standard_id, exclude=sorted(exclude))
    else:
        rows = _ready_read(excluding=False)(station_id=station.pk, pack_standard_id=pack_standard_id)
    batteries = []
    for row in rows:
        battery, end = instance_at(Battery, row)
        battery.owner, _end = instance_at(Organisation, row, end)
        batteries.append(battery)
    return batteries


_battery_rates = CompiledRead(
    lambda owner_id, battery_id, grade, at: (
        BatteryRate.objects.filter(owner_id=owner_id, effective_from__lte=at, health_grade__in=[grade, ""])
        .filter(Q(battery_id=battery_id) | Q(battery__isnull=True))
        .order_by("-effective_from", "-pk")
        .values_list("battery_id", "health_grade", "fee_per_kwh")
    )
)


def battery_rate(*, battery: Battery, at: datetime) -> Decimal | None:
    """``apps.billing.selectors.battery_rate_in_force`` in one query instead of four (a test holds
    the two equal): this battery's rate for its grade, this battery's, the owner's default for
    its grade, the owner's default; the newest in force of the first kind that exists."""
    grade = health_grade(battery.health_pct)
    newest: dict[tuple[int | None, str], Decimal] = {}
    for battery_id, rate_grade, fee in _battery_rates(owner_id=battery.owner_id, battery_id=battery.pk, grade=grade, at=at):
        newest.setdefault((battery_id, rate_grade), fee)
    for key in ((battery.pk, grade), (battery.pk, ""), (None, grade), (None, "")):
        if key in newest:
            return newest[key]
    return None


_last_custody_event = CompiledRead(
    lambda battery_id, kind: (
        BatteryCustodyEvent.objects.filter(battery_id=battery_id, kind=kind)
        .order_by("-at", "-pk")
        .values_list("at", "energy_kwh")[:1]
    )
)


def custody_marks(*, delivered: Battery, returned: Battery | None) -> tuple[datetime | None, Decimal | None]:
    """When ``delivered`` last left a vehicle (its last ``returned`` custody event), and the energy
    ``returned`` had at its last hand-out (its last ``delivered`` event)."""
    left = _last_custody_event(battery_id=delivered.pk, kind=CustodyKind.RETURNED.value)
    handout = _last_custody_event(battery_id=returned.pk, kind=CustodyKind.DELIVERED.value) if returned is not None else []
    return (left[0][0] if left else None), (handout[0][1] if handout else None)


# --- Controllers ------------------------------------------------------------------------
def controller_order_get(*, station: Station, order_id: int) -> SwapOrder:
    """An order of the controller's own station; another station's answers 404."""
    order = SwapOrder.objects.select_related(*ORDER_RELATIONS).filter(pk=order_id, station=station).first()
    if order is None:
        raise NotFound("swap order")
    return order


def pending_commands(*, station: Station) -> list[ControllerCommand]:
    return list(ControllerCommand.objects.filter(station=station, done_at__isnull=True).order_by("created_at", "pk"))


# --- Receipts ---------------------------------------------------------------------------
def receipt_order_get(*, actor: Actor, order_id: int) -> SwapOrder:
    """The order for its printable receipt (``apps.access.swaps.sees_receipt``: the driver, their
    carrier's admins, the platform), with its lines; else 404."""
    order = order_get(actor=actor, order_id=order_id)
    if not swap_access.sees_receipt(actor, order):
        raise NotFound("swap order")
    return order
