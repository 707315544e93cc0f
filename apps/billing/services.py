"""Writes of billing: calendar versions (platform), station tariffs (operators), battery usage
rates (owners). Each checks who acts through the access module and refuses bad prices with a
stable code, changing nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps import access
from apps.access import Actor
from apps.accounts.models import Organisation
from apps.assets.models import Battery, Station
from apps.billing.calendars import corridor_calendar_versions
from apps.billing.models import BatteryRate, StationTariff, TouCalendarVersion
from apps.billing.tou import CalendarError, Period, schedule_from_windows
from apps.common.errors import ApplicationError, Conflict

# Above these a price is taken for a typing mistake (a decimal point lost), not a tariff.
MAX_ENERGY_PRICE = Decimal("5")  # CNY/kWh; the corridor's sharp price is about 1.3
MAX_SERVICE_FEE_PER_KWH = Decimal("5")
MAX_SERVICE_FEE_PER_SWAP = Decimal("1000")
MAX_USAGE_FEE_PER_KWH = Decimal("5")


def _check_price(field: str, value: Decimal, maximum: Decimal) -> None:
    if value < 0:
        raise ApplicationError("price_negative", _("Prices cannot be negative."), fields={field: [_("Must be 0 or more.")]})
    if value > maximum:
        raise ApplicationError(
            "price_out_of_range",
            _("%(field)s is above %(maximum)s; check the decimal point.") % {"field": field, "maximum": maximum},
            fields={field: [_("At most %(maximum)s.") % {"maximum": maximum}]},
        )


def _check_not_in_the_past(effective_from: datetime) -> None:
    # A tariff in force from an earlier moment would change what past swaps cost.
    if effective_from < timezone.now() - timedelta(minutes=1):
        raise ApplicationError(
            "effective_in_the_past",
            _("A new price can take effect now or later, never earlier: past bills do not change."),
            fields={"effective_from": [_("Must not be in the past.")]},
        )


def calendar_version_publish(
    *, actor: Actor, zone: str, effective_from: Any, seasons: dict[str, Any], policy: str = ""
) -> TouCalendarVersion:
    if not actor.platform_admin:
        raise ApplicationError("permission_denied", _("Only the platform publishes time-of-use calendars."), status_code=403)
    try:
        schedule_from_windows(seasons)
    except CalendarError as error:
        raise ApplicationError(error.code, error.message, fields={"seasons": [error.message]}) from None
    try:
        with transaction.atomic():
            return TouCalendarVersion.objects.create(zone=zone, effective_from=effective_from, seasons=seasons, policy=policy)
    except IntegrityError:
        raise Conflict("calendar_version_exists", _("A calendar version for this zone already starts on that day.")) from None


def corridor_calendars_load() -> int:
    """Load the corridor zones' published calendars; existing versions are left alone."""
    created = 0
    for version in corridor_calendar_versions():
        _, was_created = TouCalendarVersion.objects.get_or_create(
            zone=version.zone,
            effective_from=version.effective_from,
            defaults={"seasons": version.seasons, "policy": version.policy[:200]},
        )
        created += int(was_created)
    return created


def station_tariff_set(
    *,
    actor: Actor,
    station: Station,
    energy_prices: dict[str, Decimal],
    service_fee_per_kwh: Decimal = Decimal(0),
    service_fee_per_swap: Decimal = Decimal(0),
    min_billable_kwh: Decimal = Decimal(0),
    effective_from: datetime | None = None,
    check_effective: bool = True,
) -> StationTariff:
    """A new tariff version for the station, from ``effective_from`` (default: now)."""
    if not access.may_change_station(actor, station):
        # Every signed-in user sees the station and its tariff, so this is a refusal, not a 404.
        raise ApplicationError("permission_denied", _("Only the station's operator sets its tariff."), status_code=403)
    missing = [period.value for period in Period if period.value not in energy_prices]
    unknown = sorted(set(energy_prices) - {period.value for period in Period})
    if missing or unknown:
        raise ApplicationError(
            "tariff_periods_invalid",
            _("Give an energy price for each period: sharp, peak, flat, valley, deep_valley."),
            fields={"energy_prices": [f"missing: {', '.join(missing)}" if missing else f"unknown: {', '.join(unknown)}"]},
        )
    for period, price in energy_prices.items():
        _check_price(f"energy_prices.{period}", price, MAX_ENERGY_PRICE)
    _check_price("service_fee_per_kwh", service_fee_per_kwh, MAX_SERVICE_FEE_PER_KWH)
    _check_price("service_fee_per_swap", service_fee_per_swap, MAX_SERVICE_FEE_PER_SWAP)
    if min_billable_kwh < 0:
        raise ApplicationError("price_negative", _("The minimum billable energy cannot be negative."))
    effective_from = effective_from or timezone.now()
    if check_effective:
        _check_not_in_the_past(effective_from)
    try:
        with transaction.atomic():
            return StationTariff.objects.create(
                station=station,
                effective_from=effective_from,
                **{f"price_{period}": price for period, price in energy_prices.items()},
                service_fee_per_kwh=service_fee_per_kwh,
                service_fee_per_swap=service_fee_per_swap,
                min_billable_kwh=min_billable_kwh,
                set_by_id=actor.user_id,
            )
    except IntegrityError:
        raise Conflict("tariff_version_exists", _("A tariff for this station already takes effect at that moment.")) from None


def battery_rate_set(
    *,
    actor: Actor,
    owner: Organisation,
    fee_per_kwh: Decimal,
    battery: Battery | None = None,
    health_grade: str = "",
    effective_from: datetime | None = None,
    check_effective: bool = True,
) -> BatteryRate:
    """A battery's usage rate, or the owner's default (``battery`` None), from now on."""
    if owner.pk not in actor.owner_admin_of or (battery is not None and battery.owner_id != owner.pk):
        raise ApplicationError("permission_denied", _("Only the battery's owner sets its usage rate."), status_code=403)
    _check_price("fee_per_kwh", fee_per_kwh, MAX_USAGE_FEE_PER_KWH)
    if health_grade not in {"", "A", "B", "C"}:
        raise ApplicationError("health_grade_invalid", _("The health grade is A, B, C or empty for all grades."))
    effective_from = effective_from or timezone.now()
    if check_effective:
        _check_not_in_the_past(effective_from)
    try:
        with transaction.atomic():
            return BatteryRate.objects.create(
                owner=owner,
                battery=battery,
                health_grade=health_grade,
                fee_per_kwh=fee_per_kwh,
                effective_from=effective_from,
                set_by_id=actor.user_id,
            )
    except IntegrityError:
        raise Conflict("rate_version_exists", _("A rate already takes effect at that moment.")) from None
