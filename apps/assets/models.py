"""Stations and their bays, pack standards, batteries and vehicles.

Where a battery is lives on the battery row itself (a station slot, a vehicle position, in
transit or out of service), so the database can refuse a battery in two places: the check
constraint ``battery_location_matches_kind`` allows exactly one place per kind, and the unique
constraints allow one battery per slot and per vehicle position. A trigger (migration 0002)
refuses a vehicle position beyond what the vehicle's pack standard holds.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]
# The most packs any pack standard puts in one vehicle (modular blocks: up to 3).
MAX_PACKS_PER_VEHICLE = 3


class VehicleSegment(models.TextChoices):
    HEAVY_TRUCK = "heavy_truck", _("heavy truck")
    CAR = "car", _("passenger car")


def default_energy_deposit_fen() -> int:
    """A new pack standard's energy deposit: ``SWAP_ENERGY_DEPOSIT_FEN``."""
    return int(settings.SWAP_ENERGY_DEPOSIT_FEN)


class PackStandard(TimeStampedModel):
    """A swappable pack design: which batteries fit which vehicles and stations.

    ``energy_deposit_fen``: what a vehicle of this standard deposits when it first takes a network
    battery without one of its own to return (held until it leaves the network and hands the
    battery back; 0: no deposit)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    segment = models.CharField(_("segment"), max_length=20, choices=VehicleSegment.choices)
    rated_kwh = models.DecimalField(_("rated energy (kWh)"), max_digits=7, decimal_places=1)
    nominal_voltage_v = models.PositiveIntegerField(_("nominal voltage (V)"), null=True, blank=True)
    chemistry = models.CharField(_("chemistry"), max_length=20)
    packs_per_vehicle = models.PositiveSmallIntegerField(
        _("packs per vehicle"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_PACKS_PER_VEHICLE)]
    )
    cycle_life = models.PositiveIntegerField(_("cycle life to 80 % health"), default=4000)
    energy_deposit_fen = models.PositiveBigIntegerField(
        _("energy deposit (fen)"),
        default=default_energy_deposit_fen,
        help_text=_("Paid by a vehicle that first takes a network battery; released when it hands the battery back."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("pack standard")
        verbose_name_plural = _("pack standards")
        constraints = [
            models.CheckConstraint(condition=Q(rated_kwh__gt=0), name="pack_standard_rated_kwh_positive"),
            models.CheckConstraint(
                condition=Q(packs_per_vehicle__gte=1, packs_per_vehicle__lte=MAX_PACKS_PER_VEHICLE),
                name="pack_standard_packs_per_vehicle_range",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class StationStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")
    MAINTENANCE = "maintenance", _("under maintenance")


class Station(TimeStampedModel):
    code = models.CharField(max_length=20, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=160)
    operator = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="stations")
    latitude = models.DecimalField(_("latitude (WGS84)"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude (WGS84)"), max_digits=9, decimal_places=6)
    address = models.CharField(_("address"), max_length=200, blank=True)
    road = models.CharField(_("road"), max_length=80, blank=True)
    km_from_start = models.PositiveIntegerField(_("corridor km"), null=True, blank=True)
    tariff_zone = models.CharField(_("tariff zone"), max_length=40)
    status = models.CharField(_("status"), max_length=20, choices=StationStatus.choices, default=StationStatus.OPEN)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True, help_text=_("Empty with closes_at: open 24 hours."))
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    slot_count = models.PositiveSmallIntegerField(_("battery slots"))
    pack_standards = models.ManyToManyField(PackStandard, related_name="stations", verbose_name=_("pack standards"))
    mean_swap_minutes = models.DecimalField(_("mean swap time (min)"), max_digits=5, decimal_places=1, default=Decimal(5))
    last_heartbeat_at = models.DateTimeField(_("last controller heartbeat"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="station_latitude_range"),
            models.CheckConstraint(condition=Q(longitude__gte=-180, longitude__lte=180), name="station_longitude_range"),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True, closes_at__isnull=True) | Q(opens_at__isnull=False, closes_at__isnull=False),
                name="station_opening_hours_both_or_neither",
            ),
            models.CheckConstraint(condition=Q(slot_count__gte=1), name="station_has_slots"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def is_online(self, *, now: datetime | None = None) -> bool:
        if self.last_heartbeat_at is None:
            return False
        return (now or timezone.now()) - self.last_heartbeat_at <= settings.STATION_OFFLINE_AFTER

    def is_open_at(self, moment: datetime) -> bool:
        """Open by status and by opening hours (local time; windows may cross midnight)."""
        if self.status != StationStatus.OPEN:
            return False
        if self.opens_at is None or self.closes_at is None:
            return True
        local = timezone.localtime(moment).time()
        if self.opens_at <= self.closes_at:
            return self.opens_at <= local < self.closes_at
        return local >= self.opens_at or local < self.closes_at


class BayStatus(models.TextChoices):
    AVAILABLE = "available", _("available")
    OUT_OF_SERVICE = "out_of_service", _("out of service")


class Bay(TimeStampedModel):
    """A swap bay: where a vehicle stops and the robot swaps its pack. Each has a QR code."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="bays")
    number = models.PositiveSmallIntegerField(_("number"))
    has_screen = models.BooleanField(
        _("controller screen"),
        default=True,
        help_text=_("Without a screen the bay has a printed code and needs staff confirmation."),
    )
    status = models.CharField(_("status"), max_length=20, choices=BayStatus.choices, default=BayStatus.AVAILABLE)

    class Meta:
        ordering = ["station", "number"]
        verbose_name = _("swap bay")
        verbose_name_plural = _("swap bays")
        constraints = [
            models.UniqueConstraint(fields=["station", "number"], name="bay_unique_number_per_station"),
            models.CheckConstraint(condition=Q(number__gte=1), name="bay_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.station.code} #{self.number}"


class Vehicle(TimeStampedModel):
    plate = models.CharField(_("plate"), max_length=10, unique=True)
    plate_kind = models.CharField(_("plate kind"), max_length=20)
    vin = models.CharField(_("VIN"), max_length=17, unique=True)
    carrier = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="vehicles")
    pack_standard = models.ForeignKey(PackStandard, on_delete=models.PROTECT, related_name="vehicles")
    model_name = models.CharField(_("model"), max_length=80, blank=True)
    drivers: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "accounts.User", through="VehicleAssignment", related_name="assigned_vehicles", verbose_name=_("assigned drivers")
    )

    class Meta:
        ordering = ["plate"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")

    def __str__(self) -> str:
        return self.plate


class VehicleAssignment(TimeStampedModel):
    """A driver assigned to a vehicle by the carrier."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="assignments")
    driver = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="vehicle_assignments")

    class Meta:
        verbose_name = _("vehicle assignment")
        verbose_name_plural = _("vehicle assignments")
        constraints = [models.UniqueConstraint(fields=["vehicle", "driver"], name="vehicle_assignment_unique")]


class BatteryLocation(models.TextChoices):
    STATION = "station", _("in a station slot")
    VEHICLE = "vehicle", _("in a vehicle")
    IN_TRANSIT = "in_transit", _("in transit")
    OUT_OF_SERVICE = "out_of_service", _("out of service")


class Battery(TimeStampedModel):
    code = models.CharField(_("GB/T 34014 code"), max_length=24, unique=True)
    owner = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="batteries")
    pack_standard = models.ForeignKey(PackStandard, on_delete=models.PROTECT, related_name="batteries")
    chemistry = models.CharField(_("chemistry"), max_length=20)
    rated_kwh = models.DecimalField(_("rated energy (kWh)"), max_digits=7, decimal_places=1)
    health_pct = models.DecimalField(_("state of health (%)"), max_digits=5, decimal_places=2, validators=PERCENT)
    charge_pct = models.DecimalField(_("state of charge (%)"), max_digits=5, decimal_places=2, validators=PERCENT)
    energy_kwh = models.DecimalField(_("energy (kWh)"), max_digits=8, decimal_places=3)
    cycle_count = models.PositiveIntegerField(_("cycles"), default=0)
    temperature_c = models.DecimalField(_("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True)

    location = models.CharField(_("where it is"), max_length=20, choices=BatteryLocation.choices)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, null=True, blank=True, related_name="batteries")
    station_slot = models.PositiveSmallIntegerField(_("station slot"), null=True, blank=True)
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, null=True, blank=True, related_name="batteries")
    vehicle_position = models.PositiveSmallIntegerField(_("position in vehicle"), null=True, blank=True)
    telemetry_at = models.DateTimeField(_("last reading"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("battery")
        verbose_name_plural = _("batteries")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        location=BatteryLocation.STATION,
                        station__isnull=False,
                        station_slot__isnull=False,
                        vehicle__isnull=True,
                        vehicle_position__isnull=True,
                    )
                    | Q(
                        location=BatteryLocation.VEHICLE,
                        station__isnull=True,
                        station_slot__isnull=True,
                        vehicle__isnull=False,
                        vehicle_position__isnull=False,
                    )
                    | Q(
                        location__in=[BatteryLocation.IN_TRANSIT, BatteryLocation.OUT_OF_SERVICE],
                        station__isnull=True,
                        station_slot__isnull=True,
                        vehicle__isnull=True,
                        vehicle_position__isnull=True,
                    )
                ),
                name="battery_location_matches_kind",
            ),
            models.UniqueConstraint(fields=["station", "station_slot"], name="battery_one_per_station_slot"),
            models.UniqueConstraint(fields=["vehicle", "vehicle_position"], name="battery_one_per_vehicle_position"),
            models.CheckConstraint(
                condition=Q(station_slot__gte=1) | Q(station_slot__isnull=True), name="battery_station_slot_positive"
            ),
            models.CheckConstraint(
                condition=Q(vehicle_position__gte=1, vehicle_position__lte=MAX_PACKS_PER_VEHICLE)
                | Q(vehicle_position__isnull=True),
                name="battery_vehicle_position_range",
            ),
            models.CheckConstraint(condition=Q(health_pct__gte=0, health_pct__lte=100), name="battery_health_pct_range"),
            models.CheckConstraint(condition=Q(charge_pct__gte=0, charge_pct__lte=100), name="battery_charge_pct_range"),
            models.CheckConstraint(condition=Q(energy_kwh__gte=0), name="battery_energy_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_ready(self) -> bool:
        """Charged enough to hand out (the threshold is a setting)."""
        return self.charge_pct >= settings.BATTERY_READY_MIN_CHARGE_PCT
