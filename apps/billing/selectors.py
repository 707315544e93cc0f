"""Reads that turn stored tariffs and charging history into the plain inputs of ``pricing``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from apps.assets.models import Battery, Station
from apps.billing import pricing
from apps.billing.models import BatteryRate, ChargingInterval, StationTariff, TouCalendarVersion, health_grade
from apps.billing.tou import Calendar, schedule_from_windows
from apps.common.compiled import CompiledRead, concrete_columns, instance_at
from apps.common.errors import ApplicationError

# Every quote and bill runs these reads: compiled once per process (``apps.common.compiled``).
_calendar_versions = CompiledRead(
    lambda zone: TouCalendarVersion.objects.filter(zone=zone).order_by("effective_from").values_list("effective_from", "seasons")
)
_tariff_in_force = CompiledRead(
    lambda station_id, at: (
        StationTariff.objects.filter(station_id=station_id, effective_from__lte=at)
        .order_by("-effective_from", "-pk")
        .values_list(*concrete_columns(StationTariff))[:1]
    )
)
_intervals_until = CompiledRead(
    lambda battery_id, until: (
        ChargingInterval.objects.filter(battery_id=battery_id, started_at__lt=until)
        .order_by("started_at", "pk")
        .values_list("started_at", "ended_at", "kwh")
    )
)
_intervals_between = CompiledRead(
    lambda battery_id, since, until: (
        ChargingInterval.objects.filter(battery_id=battery_id, started_at__lt=until, started_at__gte=since)
        .order_by("started_at", "pk")
        .values_list("started_at", "ended_at", "kwh")
    )
)


def calendar_for_zone(*, zone: str) -> Calendar:
    versions = _calendar_versions(zone=zone)
    calendar = Calendar.of(zone, [(effective_from, schedule_from_windows(seasons)) for effective_from, seasons in versions])
    if not calendar.versions:
        raise ApplicationError(
            "calendar_missing", f"No time-of-use calendar is loaded for tariff zone {zone!r}.", status_code=409
        )
    return calendar


def tariff_in_force(*, station: Station, at: datetime) -> StationTariff | None:
    rows = _tariff_in_force(station_id=station.pk, at=at)
    return instance_at(StationTariff, rows[0])[0] if rows else None


def station_prices(*, station: Station, at: datetime) -> pricing.StationPrices:
    tariff = tariff_in_force(station=station, at=at)
    if tariff is None:
        raise ApplicationError("tariff_missing", f"Station {station.code} has no tariff in force.", status_code=409)
    return pricing.StationPrices(
        energy=tariff.energy_prices(),
        service_per_kwh=tariff.service_fee_per_kwh,
        service_per_swap=tariff.service_fee_per_swap,
        min_billable_kwh=tariff.min_billable_kwh,
    )


def battery_rate_in_force(*, battery: Battery, at: datetime) -> Decimal | None:
    """The most specific rate in force: this battery for its grade, this battery, the owner's
    default for its grade, the owner's default. None when the owner has set none."""
    grade = health_grade(battery.health_pct)
    in_force = BatteryRate.objects.filter(owner_id=battery.owner_id, effective_from__lte=at)
    for battery_filter, grade_filter in ((battery, grade), (battery, ""), (None, grade), (None, "")):
        rate = (
            in_force.filter(battery=battery_filter, health_grade=grade_filter).order_by("-effective_from").first()
            if battery_filter is not None
            else in_force.filter(battery__isnull=True, health_grade=grade_filter).order_by("-effective_from").first()
        )
        if rate is not None:
            return rate.fee_per_kwh
    return None


def charging_since(*, battery: Battery, since: datetime | None, until: datetime) -> list[pricing.ChargingInterval]:
    """The battery's charging intervals since it last left a vehicle (``since``) up to ``until``."""
    if since is None:
        rows = _intervals_until(battery_id=battery.pk, until=until)
    else:
        rows = _intervals_between(battery_id=battery.pk, since=since, until=until)
    return [pricing.ChargingInterval(started_at, min(ended_at, until), kwh) for started_at, ended_at, kwh in rows]
