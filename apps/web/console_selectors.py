"""The consoles' reads. Every query starts from what ``apps.access`` lets the actor see
(orders, stations' internals, batteries, fleets); figures are summed in the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.access import Actor, visible_batteries, visible_station_internals, visible_stations
from apps.access import swaps as swap_access
from apps.accounts.models import Organisation
from apps.assets.models import Battery, Station
from apps.assets.selectors import online_since
from apps.ledger.selectors import local_midnight
from apps.swaps.models import QUEUE_STATES, LineKind, LineStage, OrderLine, OrderState, SwapOrder

DONE = (OrderState.COMPLETED, OrderState.SETTLED)


def days_back(days: int) -> tuple[date, datetime]:
    """The first local day of the last ``days`` days (today included) and its local midnight."""
    first = timezone.localdate() - timedelta(days=days - 1)
    return first, local_midnight(first)


# --- Carriers -----------------------------------------------------------------------------
def carrier_orders(*, actor: Actor, carrier: Organisation) -> QuerySet[SwapOrder]:
    """The carrier's orders as its admins see them."""
    return swap_access.visible_orders(actor).filter(carrier=carrier)


@dataclass(frozen=True)
class DaySpend:
    day: date
    fen: int
    swaps: int


def carrier_spend_by_day(*, actor: Actor, carrier: Organisation, days: int) -> list[DaySpend]:
    """Billed swaps per local day over the last ``days`` days, every day present (0 when none)."""
    first, since = days_back(days)
    rows = (
        carrier_orders(actor=actor, carrier=carrier)
        .filter(state__in=DONE, completed_at__gte=since)
        .annotate(day=TruncDate("completed_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(fen=Sum("bill_total_fen"), swaps=Count("id"))
    )
    by_day = {row["day"]: row for row in rows}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day)
        result.append(DaySpend(day=day, fen=int(row["fen"] or 0) if row else 0, swaps=int(row["swaps"]) if row else 0))
    return result


def carrier_spend_by(*, actor: Actor, carrier: Organisation, since: datetime, by: str) -> list[dict[str, object]]:
    """Billed swaps since ``since`` per driver (``by="driver"``) or per vehicle (``"vehicle"``), most spent first."""
    keys = {"driver": ["driver_id", "driver__display_name"], "vehicle": ["vehicle_id", "vehicle__plate"]}[by]
    rows = (
        carrier_orders(actor=actor, carrier=carrier)
        .filter(state__in=DONE, completed_at__gte=since)
        .values(*keys)
        .annotate(fen=Sum("bill_total_fen"), swaps=Count("id"))
        .order_by("-fen", keys[1])
    )
    return [{"id": row[keys[0]], "name": row[keys[1]], "fen": int(row["fen"] or 0), "swaps": row["swaps"]} for row in rows]


# --- Stations: the network map and telemetry ------------------------------------------------
def _with_counts(stations: QuerySet[Station]) -> QuerySet[Station]:
    return stations.annotate(
        stock_total=Count("batteries", filter=Q(batteries__station_slot__isnull=False), distinct=True),
        queue_length=Count("swap_orders", filter=Q(swap_orders__state__in=QUEUE_STATES), distinct=True),
    )


def network_stations(*, actor: Actor) -> list[Station]:
    """Every station's public face (any signed-in user sees it), with stock and queue, in corridor order."""
    stations = _with_counts(visible_stations(actor)).order_by("km_from_start", "code")
    return list(stations)


def ready_counts(*, stations: list[Station]) -> dict[int, int]:
    """Charged batteries in each station's slots (the public stock figure)."""
    rows = (
        Battery.objects.filter(
            station__in=stations, station_slot__isnull=False, charge_pct__gte=settings.BATTERY_READY_MIN_CHARGE_PCT
        )
        .values("station_id")
        .annotate(n=Count("id"))
    )
    return {row["station_id"]: row["n"] for row in rows}


def telemetry_stations(*, actor: Actor) -> list[Station]:
    """The stations whose controller state the actor sees (their operator; the platform)."""
    return list(_with_counts(visible_station_internals(actor)).select_related("operator").order_by("km_from_start", "code"))


def telemetry_batteries(*, actor: Actor, station_code: str = "", limit: int = 200) -> list[Battery]:
    """The batteries the actor sees (owner: all of its own; operator: those at its stations), freshest reading first."""
    batteries = visible_batteries(actor).select_related("owner", "station", "vehicle", "pack_standard")
    if station_code:
        batteries = batteries.filter(station__code=station_code)
    return list(batteries.order_by("station__code", "station_slot", "code")[:limit])


def stations_online(*, stations: list[Station]) -> set[int]:
    since = online_since()
    return {s.pk for s in stations if s.last_heartbeat_at is not None and s.last_heartbeat_at >= since}


# --- Abnormal orders ------------------------------------------------------------------------
def abnormal_orders(*, actor: Actor) -> QuerySet[SwapOrder]:
    """Abnormal orders the actor may resolve: at the operator's stations (all, for the platform), oldest first."""
    orders = swap_access.visible_orders(actor).filter(state=OrderState.ABNORMAL)
    if not actor.platform_admin:
        orders = orders.filter(station__operator_id__in=actor.operator_admin_of)
    return orders.select_related(
        "station",
        "vehicle",
        "bay",
        "driver",
        "reserved_battery",
        "expected_return_battery",
        "delivered_battery",
        "returned_battery",
    ).order_by("created_at", "pk")


# --- Energy and utilisation ------------------------------------------------------------------
def operator_stations(*, actor: Actor) -> QuerySet[Station]:
    return visible_station_internals(actor)


def energy_by_period(*, actor: Actor, since: datetime) -> dict[str, tuple[Decimal, int]]:
    """Billed energy (kWh, fen) per time-of-use period at the actor's stations since ``since``."""
    orders = swap_access.visible_orders(actor).filter(
        station__in=operator_stations(actor=actor), state__in=DONE, completed_at__gte=since
    )
    rows = (
        OrderLine.objects.filter(order__in=orders, stage=LineStage.BILL, kind=LineKind.ENERGY)
        .values("period")
        .annotate(kwh=Sum("kwh"), fen=Sum("amount_fen"))
    )
    return {row["period"]: (Decimal(row["kwh"] or 0), int(row["fen"] or 0)) for row in rows}


@dataclass(frozen=True)
class Utilisation:
    station: Station
    swaps: int
    capacity: int  # swaps the station's bays could do in the window at its mean swap time
    pct: Decimal


def station_utilisation(*, actor: Actor, since: datetime, until: datetime) -> list[Utilisation]:
    """Completed swaps against what the bays could do in [since, until): bays × minutes / mean swap minutes."""
    stations = list(
        operator_stations(actor=actor)
        .annotate(
            bay_count=Count("bays", distinct=True),
            swaps=Count(
                "swap_orders",
                filter=Q(swap_orders__state__in=DONE, swap_orders__completed_at__gte=since, swap_orders__completed_at__lt=until),
                distinct=True,
            ),
        )
        .order_by("km_from_start", "code")
    )
    minutes = int((until - since).total_seconds() // 60)
    result = []
    for station in stations:
        mean = station.mean_swap_minutes or Decimal(5)
        capacity = int(Decimal(station.bay_count * minutes) / mean)
        swaps = station.swaps
        pct = (Decimal(100) * swaps / capacity).quantize(Decimal("0.1")) if capacity else Decimal(0)
        result.append(Utilisation(station=station, swaps=swaps, capacity=capacity, pct=pct))
    return result
