"""Station controllers: their keys, their heartbeats (slot inventory), the bay tokens they show,
and the charging they report.

A heartbeat marks the station online and reconciles what the controller sees in its slots with
the platform's records, without guessing: a battery the platform has in that station's slots
gets the reported readings (state of charge, energy, temperature, faults); a code the platform
does not know is reported back as ``unknown`` and nothing is created; a known battery that the
platform has somewhere else (another slot, another station, a vehicle) is reported back as
``misplaced`` and not moved. Only swaps (and people) move batteries.

Charging intervals are stored in ``billing.ChargingInterval``; the same interval sent again is
one row (its unique constraint), and one that contradicts a stored interval is reported back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access import Actor
from apps.access import swaps as swap_access
from apps.assets.models import Battery, BatteryLocation, Bay, Station
from apps.billing.models import ChargingInterval
from apps.common.errors import ApplicationError, NotFound
from apps.common.money import kwh
from apps.swaps import qr
from apps.swaps.controller_auth import new_key_id, new_secret, secret_encrypt
from apps.swaps.errors import forbidden, refusal
from apps.swaps.models import BatteryCondition, ControllerCredential

MAX_SLOTS_PER_HEARTBEAT = 200
MAX_INTERVALS_PER_REPORT = 500


# --- Keys -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewCredential:
    credential: ControllerCredential
    secret: str  # shown once, never stored in the clear


def _credential_create(*, station: Station, created_by_id: int | None) -> NewCredential:
    now = timezone.now()
    ControllerCredential.objects.select_for_update().filter(station=station, revoked_at__isnull=True).update(revoked_at=now)
    secret = new_secret()
    credential = ControllerCredential.objects.create(
        station=station, key_id=new_key_id(), secret_encrypted=secret_encrypt(secret), created_by_id=created_by_id
    )
    return NewCredential(credential=credential, secret=secret)


def controller_key_rotate(*, actor: Actor, station: Station) -> NewCredential:
    """A new key for the station's controller; the old one stops working at once."""
    if not swap_access.may_manage_controller_key(actor, station):
        raise forbidden()
    with transaction.atomic():
        Station.objects.select_for_update().filter(pk=station.pk).first()  # one rotation at a time
        return _credential_create(station=station, created_by_id=actor.user_id)


def controller_key_ensure(*, station: Station) -> tuple[ControllerCredential, bool]:
    """The station's live key, made if it has none (the demo seed; idempotent). Returns it and
    whether it was made."""
    with transaction.atomic():
        Station.objects.select_for_update().filter(pk=station.pk).first()
        live = ControllerCredential.objects.filter(station=station, revoked_at__isnull=True).first()
        if live is not None:
            return live, False
        return _credential_create(station=station, created_by_id=None).credential, True


# --- Bay tokens -------------------------------------------------------------------------
def bay_token_issue(*, station: Station, bay_number: int, now: datetime | None = None) -> qr.BayToken:
    """A fresh signed token for the bay's screen (each call: a new nonce). Nothing is stored: the
    token's nonce becomes unique on the order it makes."""
    bay = Bay.objects.filter(station=station, number=bay_number).first()
    if bay is None:
        raise NotFound("bay")
    if not bay.has_screen:
        raise refusal("bay_has_no_screen")
    return qr.screen_token_issue(bay_id=bay.pk, now=now or timezone.now())


# --- Heartbeats -------------------------------------------------------------------------
@dataclass(frozen=True)
class SlotReading:
    slot: int
    battery: str | None  # None: the slot is empty
    soc_pct: Decimal | None = None
    energy_kwh: Decimal | None = None
    temperature_c: Decimal | None = None
    faults: tuple[str, ...] = ()


@dataclass
class HeartbeatResult:
    received_at: datetime
    updated: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    misplaced: list[dict[str, object]] = field(default_factory=list)


def _platform_place(battery: Battery) -> str:
    if battery.location == BatteryLocation.STATION and battery.station is not None:
        return f"{battery.station.code} slot {battery.station_slot}"
    if battery.location == BatteryLocation.VEHICLE:
        return "a vehicle"
    return str(battery.location)


def controller_heartbeat(*, station: Station, slots: list[SlotReading], now: datetime | None = None) -> HeartbeatResult:
    """The controller is alive; its slots' readings update the batteries the platform has there."""
    if len(slots) > MAX_SLOTS_PER_HEARTBEAT:
        raise ApplicationError("too_many_slots", _("At most %(n)d slots per heartbeat.") % {"n": MAX_SLOTS_PER_HEARTBEAT})
    moment = now or timezone.now()
    result = HeartbeatResult(received_at=moment)
    by_code = {reading.battery: reading for reading in slots if reading.battery}
    with transaction.atomic():
        Station.objects.filter(pk=station.pk).update(last_heartbeat_at=moment)
        known = {
            battery.code: battery
            for battery in Battery.objects.select_for_update(of=("self",))
            .select_related("station")
            .filter(code__in=list(by_code))
            .order_by("pk")
        }
        for code, reading in sorted(by_code.items()):
            battery = known.get(code)
            if battery is None:
                result.unknown.append(code)
                continue
            here = battery.location == BatteryLocation.STATION and battery.station_id == station.pk
            if not here or battery.station_slot != reading.slot:
                result.misplaced.append({"battery": code, "slot": reading.slot, "platform_has_it_in": _platform_place(battery)})
                continue
            changed = ["telemetry_at", "updated_at"]
            if reading.soc_pct is not None:
                battery.charge_pct = reading.soc_pct
                changed.append("charge_pct")
            if reading.energy_kwh is not None:
                battery.energy_kwh = kwh(reading.energy_kwh)
                changed.append("energy_kwh")
            if reading.temperature_c is not None:
                battery.temperature_c = reading.temperature_c
                changed.append("temperature_c")
            battery.telemetry_at = moment
            battery.save(update_fields=changed)
            faults = sorted(set(reading.faults))
            BatteryCondition.objects.update_or_create(
                battery=battery, defaults={"faults": faults, "has_fault": bool(faults), "reported_at": moment}
            )
            result.updated.append(code)
        from apps.live import publish  # the station's status and stock, pushed after the commit

        transaction.on_commit(lambda: publish.station_changed(station.pk))
    station.last_heartbeat_at = moment
    return result


# --- Charging ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IntervalReading:
    battery: str
    kwh: Decimal
    started_at: datetime
    ended_at: datetime


@dataclass
class ChargingResult:
    stored: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)
    conflicts: list[dict[str, object]] = field(default_factory=list)
    invalid: list[dict[str, object]] = field(default_factory=list)


def charging_report(*, station: Station, intervals: list[IntervalReading]) -> ChargingResult:
    """Store the station's charging intervals of batteries in its slots (idempotent)."""
    if len(intervals) > MAX_INTERVALS_PER_REPORT:
        raise ApplicationError("too_many_intervals", _("At most %(n)d intervals per report.") % {"n": MAX_INTERVALS_PER_REPORT})
    result = ChargingResult()
    batteries = {
        battery.code: battery
        for battery in Battery.objects.filter(code__in={interval.battery for interval in intervals}, station=station)
    }
    with transaction.atomic():
        for interval in intervals:
            battery = batteries.get(interval.battery)
            if battery is None:
                result.unknown.append(interval.battery)
                continue
            energy = kwh(interval.kwh)
            if interval.ended_at <= interval.started_at or energy < 0:
                result.invalid.append({"battery": interval.battery, "started_at": interval.started_at})
                continue
            existing = ChargingInterval.objects.filter(battery=battery, started_at=interval.started_at).first()
            if existing is None:
                try:
                    with transaction.atomic():
                        ChargingInterval.objects.create(
                            battery=battery,
                            station=station,
                            started_at=interval.started_at,
                            ended_at=interval.ended_at,
                            kwh=energy,
                        )
                    result.stored += 1
                    continue
                except IntegrityError:
                    existing = ChargingInterval.objects.get(battery=battery, started_at=interval.started_at)
            if existing.ended_at == interval.ended_at and existing.kwh == energy:
                result.duplicates += 1
            else:
                result.conflicts.append({"battery": interval.battery, "started_at": interval.started_at})
    return result
