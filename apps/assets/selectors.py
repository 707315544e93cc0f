"""Reads of stations, batteries and vehicles, always through the access module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps import access
from apps.access import Actor
from apps.accounts.models import Organisation
from apps.assets.models import Battery, BatteryLocation, Bay, PackStandard, Station, StationStatus, Vehicle, VehicleAssignment
from apps.common.compiled import CompiledRead, concrete_columns, instance_at
from apps.common.errors import ApplicationError, NotFound
from apps.common.identifiers import InvalidIdentifier, normalize_plate


@dataclass(frozen=True)
class StationFilters:
    status: str | None = None
    online: bool | None = None
    pack_standard: str | None = None
    tariff_zone: str | None = None
    search: str | None = None


def _ready_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}charge_pct__gte": settings.BATTERY_READY_MIN_CHARGE_PCT})


def online_since(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - settings.STATION_OFFLINE_AFTER


def station_list(*, actor: Actor, filters: StationFilters) -> QuerySet[Station]:
    stations = access.visible_stations(actor).select_related("operator").prefetch_related("pack_standards")
    if filters.status:
        if filters.status not in StationStatus.values:
            raise ApplicationError("invalid_filter", f"status must be one of {', '.join(StationStatus.values)}.")
        stations = stations.filter(status=filters.status)
    if filters.online is True:
        stations = stations.filter(last_heartbeat_at__gte=online_since())
    elif filters.online is False:
        stations = stations.filter(Q(last_heartbeat_at__lt=online_since()) | Q(last_heartbeat_at__isnull=True))
    if filters.pack_standard:
        stations = stations.filter(pack_standards__code=filters.pack_standard)
    if filters.tariff_zone:
        stations = stations.filter(tariff_zone=filters.tariff_zone)
    if filters.search:
        term = filters.search.strip()
        stations = stations.filter(Q(code__icontains=term) | Q(name_zh__icontains=term) | Q(name_en__icontains=term))
    return _with_stock_counts(stations).order_by("km_from_start", "code")


def _with_stock_counts(stations: QuerySet[Station]) -> QuerySet[Station]:
    return stations.annotate(
        batteries_in_stock=Count("batteries", distinct=True),
        batteries_ready=Count("batteries", filter=_ready_q("batteries__"), distinct=True),
    )


def station_get(*, actor: Actor, code: str) -> Station:
    visible = access.visible_stations(actor).select_related("operator").prefetch_related("pack_standards")
    station = _with_stock_counts(visible.filter(code=code.strip().upper())).first()
    if station is None:
        raise NotFound("station")
    return station


@dataclass(frozen=True)
class StockLine:
    pack_standard: str
    in_stock: int
    ready: int


def station_stock(*, station: Station) -> list[StockLine]:
    """Batteries in the station's slots by pack standard: all, and charged enough to hand out."""
    rows = (
        Battery.objects.filter(station=station, location=BatteryLocation.STATION)
        .values("pack_standard__code")
        .annotate(in_stock=Count("pk"), ready=Count("pk", filter=_ready_q()))
        .order_by("pack_standard__code")
    )
    by_code = {row["pack_standard__code"]: StockLine(row["pack_standard__code"], row["in_stock"], row["ready"]) for row in rows}
    for standard in station.pack_standards.all():
        by_code.setdefault(standard.code, StockLine(standard.code, 0, 0))
    return sorted(by_code.values(), key=lambda line: line.pack_standard)


def battery_list(*, actor: Actor) -> QuerySet[Battery]:
    return access.visible_batteries(actor).select_related("owner", "pack_standard", "station", "vehicle").order_by("code")


def battery_get(*, actor: Actor, code: str) -> Battery:
    battery = battery_list(actor=actor).filter(code=code.strip().upper()).first()
    if battery is None:
        raise NotFound("battery")
    return battery


def vehicle_list(*, actor: Actor) -> QuerySet[Vehicle]:
    return access.visible_vehicles(actor).select_related("carrier", "pack_standard").order_by("plate")


# A vehicle with its carrier and pack standard, as ``vehicle_list`` loads it.
VEHICLE_COLUMNS = [
    *concrete_columns(Vehicle),
    *concrete_columns(Organisation, "carrier__"),
    *concrete_columns(PackStandard, "pack_standard__"),
]
# ``vehicle_get``'s read, compiled once per process (``apps.common.compiled``): every
# recommendation request runs it. It also answers whether the vehicle is assigned to the caller,
# which is all ``access.may_see_vehicle`` needs beyond the caller's memberships.
_vehicle_by_plate = CompiledRead(
    lambda plate, driver_id: (
        Vehicle.objects.filter(plate=plate)
        .annotate(assigned=Exists(VehicleAssignment.objects.filter(vehicle=OuterRef("pk"), driver_id=driver_id)))
        .values_list(*VEHICLE_COLUMNS, "assigned")[:1]
    )
)


def vehicle_from_row(row: Sequence[Any]) -> tuple[Vehicle, int]:
    """The vehicle (carrier and pack standard loaded) whose ``VEHICLE_COLUMNS`` begin a row, and
    where the row's next columns begin."""
    vehicle, end = instance_at(Vehicle, row)
    vehicle.carrier, end = instance_at(Organisation, row, end)
    vehicle.pack_standard, end = instance_at(PackStandard, row, end)
    return vehicle, end


def vehicle_get(*, actor: Actor, plate: str) -> Vehicle:
    """The vehicle with this plate, if the actor may see it (``access.visible_vehicles``)."""
    try:
        canonical = normalize_plate(plate, new_energy_letters=settings.PLATE_NEW_ENERGY_LETTERS).number
    except InvalidIdentifier:
        raise NotFound("vehicle") from None
    if actor.user_id is None:  # not signed in: sees no vehicle
        raise NotFound("vehicle")
    rows = _vehicle_by_plate(plate=canonical, driver_id=actor.user_id)
    if not rows:
        raise NotFound("vehicle")
    vehicle, end = vehicle_from_row(rows[0])
    if not access.may_see_vehicle(actor, vehicle, assigned_to_actor=bool(rows[0][end])):
        raise NotFound("vehicle")
    return vehicle


@dataclass(frozen=True)
class StationDetail:
    station: Station
    stock: list[StockLine]
    bays: list[Bay] | None
