"""Time-of-use calendars, station tariffs, battery usage rates and charging intervals.

Every price is versioned by the moment it takes effect; a new version never changes what an
earlier swap was billed. Prices are Decimal CNY; amounts become integer fen only in a bill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.billing.tou import Period
from apps.common.models import TimeStampedModel


def price_field(label: Any, **options: Any) -> models.DecimalField[Decimal, Decimal]:
    """CNY per kWh (or per swap) with four decimals: tariffs are published to 0.0001 yuan."""
    return models.DecimalField(label, max_digits=8, decimal_places=4, **options)


class TouCalendarVersion(TimeStampedModel):
    """A zone's time-of-use windows, in force from ``effective_from`` (a local date) on."""

    zone = models.CharField(_("tariff zone"), max_length=40)
    effective_from = models.DateField(_("in force from"))
    policy = models.CharField(_("policy"), max_length=200, blank=True)
    # {"winter": {"months": [12, 1, 2], "windows": {"peak": [[7, 9], [19, 23]], ...}}, ...}
    seasons = models.JSONField(_("seasons and windows"))

    class Meta:
        ordering = ["zone", "effective_from"]
        verbose_name = _("time-of-use calendar")
        verbose_name_plural = _("time-of-use calendars")
        constraints = [models.UniqueConstraint(fields=["zone", "effective_from"], name="tou_calendar_one_version_a_day")]

    def __str__(self) -> str:
        return f"{self.zone} from {self.effective_from}"


class StationTariff(TimeStampedModel):
    """A station's prices, set by its operator: energy by period, service fees, minimum energy."""

    station = models.ForeignKey("assets.Station", on_delete=models.PROTECT, related_name="tariffs")
    effective_from = models.DateTimeField(_("in force from"))
    price_sharp = price_field(_("sharp (CNY/kWh)"))
    price_peak = price_field(_("peak (CNY/kWh)"))
    price_flat = price_field(_("flat (CNY/kWh)"))
    price_valley = price_field(_("valley (CNY/kWh)"))
    price_deep_valley = price_field(_("deep valley (CNY/kWh)"))
    service_fee_per_kwh = price_field(_("service fee (CNY/kWh)"), default=Decimal(0))
    service_fee_per_swap = models.DecimalField(_("service fee (CNY/swap)"), max_digits=8, decimal_places=2, default=Decimal(0))
    min_billable_kwh = models.DecimalField(_("minimum billable energy (kWh)"), max_digits=8, decimal_places=3, default=Decimal(0))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["station", "-effective_from"]
        verbose_name = _("station tariff")
        verbose_name_plural = _("station tariffs")
        constraints = [
            models.UniqueConstraint(fields=["station", "effective_from"], name="station_tariff_one_version_a_moment"),
            models.CheckConstraint(
                condition=Q(
                    price_sharp__gte=0, price_peak__gte=0, price_flat__gte=0, price_valley__gte=0, price_deep_valley__gte=0
                ),
                name="station_tariff_prices_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(service_fee_per_kwh__gte=0, service_fee_per_swap__gte=0, min_billable_kwh__gte=0),
                name="station_tariff_fees_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station.code} from {self.effective_from:%Y-%m-%d %H:%M}"

    def energy_prices(self) -> dict[Period, Decimal]:
        return {period: getattr(self, f"price_{period.value}") for period in Period}


class HealthGrade(models.TextChoices):
    """Grades of state of health; an owner may charge less for an older battery."""

    A = "A", _("A (90 % and above)")
    B = "B", _("B (80–90 %)")
    C = "C", _("C (below 80 %)")


def health_grade(health_pct: Decimal) -> HealthGrade:
    if health_pct >= 90:
        return HealthGrade.A
    if health_pct >= 80:
        return HealthGrade.B
    return HealthGrade.C


class BatteryRate(TimeStampedModel):
    """A battery owner's usage fee per kWh a battery delivers: for one battery, or the owner's
    default (``battery`` empty), optionally only for one health grade."""

    owner = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="battery_rates")
    battery = models.ForeignKey("assets.Battery", on_delete=models.PROTECT, null=True, blank=True, related_name="rates")
    health_grade = models.CharField(_("health grade"), max_length=1, choices=HealthGrade.choices, blank=True)
    fee_per_kwh = price_field(_("usage fee (CNY/kWh)"))
    effective_from = models.DateTimeField(_("in force from"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["owner", "-effective_from"]
        verbose_name = _("battery usage rate")
        verbose_name_plural = _("battery usage rates")
        constraints = [
            models.CheckConstraint(condition=Q(fee_per_kwh__gte=0), name="battery_rate_not_negative"),
            models.UniqueConstraint(
                fields=["owner", "health_grade", "effective_from"],
                condition=Q(battery__isnull=True),
                name="battery_rate_owner_default_once",
            ),
            models.UniqueConstraint(
                fields=["battery", "health_grade", "effective_from"],
                condition=Q(battery__isnull=False),
                name="battery_rate_per_battery_once",
            ),
        ]


class ChargingInterval(TimeStampedModel):
    """Energy a station put into a battery between two moments, as its controller reported."""

    battery = models.ForeignKey("assets.Battery", on_delete=models.PROTECT, related_name="charging_intervals")
    station = models.ForeignKey("assets.Station", on_delete=models.PROTECT, related_name="charging_intervals")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    kwh = models.DecimalField(max_digits=8, decimal_places=3)

    class Meta:
        ordering = ["battery", "started_at"]
        verbose_name = _("charging interval")
        verbose_name_plural = _("charging intervals")
        constraints = [
            # A report sent twice is one interval.
            models.UniqueConstraint(fields=["battery", "started_at"], name="charging_interval_once"),
            models.CheckConstraint(condition=Q(ended_at__gt=models.F("started_at")), name="charging_interval_ends_after_start"),
            models.CheckConstraint(condition=Q(kwh__gte=0), name="charging_interval_energy_not_negative"),
        ]
