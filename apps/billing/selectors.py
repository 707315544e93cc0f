"""Reads that turn stored tariffs and charging history into the plain inputs of ``pricing``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from apps.assets.models import Battery, Station
from apps.billing import pricing
from apps.billing.models import BatteryRate, ChargingInterval, StationTariff, TouCalendarVersion, health_grade
from apps.billing.tou import Calendar, schedule_from_windows
from apps.common.errors import ApplicationError


def calendar_for_zone(*, zone: str) -> Calendar:
    versions = TouCalendarVersion.objects.filter(zone=zone).order_by("effective_from")
    calendar = Calendar.of(zone, [(version.effective_from, schedule_from_windows(version.seasons)) for version in versions])
    if not calendar.versions:
        raise ApplicationError(
            "calendar_missing", f"No time-of-use calendar is loaded for tariff zone {zone!r}.", status_code=409
        )
    return calendar


def tariff_in_force(*, station: Station, at: datetime) -> StationTariff | None:
    return StationTariff.objects.filter(station=station, effective_from__lte=at).order_by("-effective_from").first()


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
    intervals = ChargingInterval.objects.filter(battery=battery, started_at__lt=until)
    if since is not None:
        intervals = intervals.filter(started_at__gte=since)
    return [
        pricing.ChargingInterval(row.started_at, min(row.ended_at, until), row.kwh) for row in intervals.order_by("started_at")
    ]
