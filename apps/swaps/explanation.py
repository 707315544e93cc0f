"""A swap's quote and bill explained line by line: where each line's kWh, unit price and amount
came from (PRODUCT.md, "Billing model").

The stored lines (``OrderLine``) are what was charged and are always shown as stored. Beside
them, the explanation rebuilds the pricing's plain inputs as they were at the moment of pricing
(the tariff and calendar versions in force then, the delivered battery's charging intervals
since it last left a vehicle before the swap, the returned battery's energy at its hand-out
before this order, the usage rate and contracts in force), prices them again with the same pure
function and says whether that gives the stored lines back (``reproduced``). It then shows, per
line: the period, the kWh and how they were derived (the charging intervals and how much of each
fell in each time-of-use period, or "no charging history: the swap time's period"), the unit
price with the version it came from, the exact amount, the amount rounded half up to the fen and
the rounding, and the beneficiary; the commission lines ("of which, platform commission") with
their contract; and the quote against the bill with the review tolerance.

A read: it changes nothing. Who sees what is the order's rule (``apps.access.swaps``): a battery
owner sees only its own fee lines (and their commission), never who drove or which vehicle, and
not the delivered battery's charging, which explains the operator's energy lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.access import Actor
from apps.access import swaps as swap_access
from apps.accounts.models import Organisation
from apps.assets.models import Battery
from apps.billing import pricing
from apps.billing import selectors as billing_selectors
from apps.billing.models import BatteryRate, StationTariff, TouCalendarVersion, health_grade
from apps.billing.tou import LOCAL_TIME, Calendar, CalendarError, Period
from apps.common.errors import ApplicationError
from apps.common.money import FEN_PER_YUAN, kwh, money_json, to_fen
from apps.ledger.models import Contract
from apps.ledger.selectors import contract_in_force
from apps.swaps.models import BatteryCustodyEvent, CustodyKind, LineKind, LineStage, OrderLine, SwapOrder
from apps.swaps.services.completion import _review as review_needed

ZERO = Decimal(0)
HUNDRED = Decimal(100)

PERIOD_LABELS = {
    Period.SHARP: gettext_lazy("sharp"),
    Period.PEAK: gettext_lazy("peak"),
    Period.FLAT: gettext_lazy("flat"),
    Period.VALLEY: gettext_lazy("valley"),
    Period.DEEP_VALLEY: gettext_lazy("deep valley"),
}


class EnergyBasis:
    """How a stage's energy was shared among time-of-use periods (a stable code)."""

    CHARGING_HISTORY = "charging_history"  # the delivered battery's charging intervals
    SWAP_TIME_PERIOD = "swap_time_period"  # no charging history: the period at the swap time
    NO_ENERGY = "no_energy"  # nothing billed by energy


def period_label(period: str) -> str:
    try:
        return str(PERIOD_LABELS[Period(period)])
    except ValueError:
        return period


def _dec(value: Decimal, places: str) -> str:
    return str(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _kwh(value: Decimal | None) -> str | None:
    return None if value is None else _dec(value, "0.001")


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _local(value: datetime) -> str:
    return f"{value.astimezone(LOCAL_TIME):%Y-%m-%d %H:%M}"


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _organisation(organisation: Organisation) -> dict[str, str]:
    return {"code": organisation.code, "name": organisation.name}


# --- What a stage was priced from -------------------------------------------------------
@dataclass(frozen=True)
class PricingContext:
    """The plain inputs of one stage's pricing, rebuilt as they were at its moment."""

    stage: LineStage
    at: datetime
    delivered: Battery
    returned: Battery | None
    delivered_kwh: Decimal
    returned_kwh: Decimal
    left_vehicle_at: datetime | None  # when the delivered battery last left a vehicle before the swap
    handed_out_kwh: Decimal | None  # the returned battery's energy at its hand-out before this order
    intervals: list[pricing.ChargingInterval]
    calendar: Calendar | None
    calendar_version: TouCalendarVersion | None
    tariff: StationTariff | None
    rate: BatteryRate | None
    rate_scope: str  # "battery_grade", "battery", "owner_grade", "owner", or "" (none)
    contracts: dict[int, Contract]  # by earner id


def _custody_before(order: SwapOrder, *, battery: Battery, kind: CustodyKind, until: datetime) -> BatteryCustodyEvent | None:
    return (
        BatteryCustodyEvent.objects.filter(battery=battery, kind=kind, at__lte=until)
        .exclude(order=order)
        .order_by("-at", "-pk")
        .first()
    )


def _rate_in_force(battery: Battery, at: datetime) -> tuple[BatteryRate | None, str]:
    """``apps.billing.selectors.battery_rate_in_force``, with the row and which kind it was."""
    grade = health_grade(battery.health_pct)
    rows = list(
        BatteryRate.objects.filter(owner_id=battery.owner_id, effective_from__lte=at, health_grade__in=[grade, ""])
        .filter(Q(battery=battery) | Q(battery__isnull=True))
        .order_by("-effective_from", "-pk")
    )
    scopes = (
        ("battery_grade", battery.pk, grade),
        ("battery", battery.pk, ""),
        ("owner_grade", None, grade),
        ("owner", None, ""),
    )
    for scope, battery_id, rate_grade in scopes:
        for row in rows:
            if row.battery_id == battery_id and row.health_grade == rate_grade:
                return row, scope
    return None, ""


def _calendar(order: SwapOrder, at: datetime) -> tuple[Calendar | None, TouCalendarVersion | None]:
    zone = order.station.tariff_zone
    try:
        calendar = billing_selectors.calendar_for_zone(zone=zone)
    except ApplicationError:
        return None, None
    day = at.astimezone(LOCAL_TIME).date()
    version = TouCalendarVersion.objects.filter(zone=zone, effective_from__lte=day).order_by("-effective_from").first()
    return calendar, version


def _context(order: SwapOrder, stage: LineStage, earners: Sequence[Organisation]) -> PricingContext | None:
    if stage == LineStage.BILL:
        if order.bill_total_fen is None or order.delivered_battery is None or order.swap_started_at is None:
            return None
        at, delivered, returned = order.swap_started_at, order.delivered_battery, order.returned_battery
        delivered_kwh, returned_kwh = order.delivered_kwh or ZERO, order.returned_kwh or ZERO
        # Custody as the completion saw it: the events before this order's own.
        until = order.completed_at or order.swap_ended_at or at
    else:
        at = order.queued_at or order.created_at
        delivered, returned = order.reserved_battery, order.expected_return_battery
        delivered_kwh, returned_kwh = order.quote_delivered_kwh, order.quote_returned_kwh
        until = at
    left = _custody_before(order, battery=delivered, kind=CustodyKind.RETURNED, until=until)
    handout = None
    if returned is not None:
        handout = _custody_before(order, battery=returned, kind=CustodyKind.DELIVERED, until=until)
    left_at = left.at if left is not None else None
    calendar, calendar_version = _calendar(order, at)
    rate, scope = _rate_in_force(returned, at) if returned is not None else (None, "")
    contracts = {}
    if stage == LineStage.BILL:
        for earner in earners:
            contract = contract_in_force(organisation=earner, at=at)
            if contract is not None:
                contracts[earner.pk] = contract
    return PricingContext(
        stage=stage,
        at=at,
        delivered=delivered,
        returned=returned,
        delivered_kwh=kwh(delivered_kwh),
        returned_kwh=kwh(returned_kwh),
        left_vehicle_at=left_at,
        handed_out_kwh=handout.energy_kwh if handout is not None else None,
        intervals=billing_selectors.charging_since(battery=delivered, since=left_at, until=at),
        calendar=calendar,
        calendar_version=calendar_version,
        tariff=billing_selectors.tariff_in_force(station=order.station, at=at),
        rate=rate,
        rate_scope=scope,
        contracts=contracts,
    )


def _trip_kwh(context: PricingContext) -> Decimal:
    if context.returned is None or context.handed_out_kwh is None:
        return ZERO
    return max(context.handed_out_kwh - context.returned_kwh, ZERO)


def _reprice(order: SwapOrder, context: PricingContext, *, platform: str) -> pricing.Bill | None:
    """The stage priced again from the rebuilt inputs; None when they no longer price (a tariff
    or calendar gone)."""
    if context.tariff is None or context.calendar is None:
        return None
    operator = order.station.operator
    returned = None
    if context.returned is not None:
        returned = pricing.ReturnedBattery(
            code=context.returned.code,
            owner=str(context.returned.owner_id),
            trip_kwh=_trip_kwh(context),
            rate=context.rate.fee_per_kwh if context.rate is not None else None,
        )
    commissions = {
        str(earner_id): pricing.CommissionTerms(
            rate=contract.commission_rate, min_fen=contract.commission_min_fen, max_fen=contract.commission_max_fen
        )
        for earner_id, contract in context.contracts.items()
    }
    tariff = context.tariff
    try:
        return pricing.price_bill(
            pricing.BillInput(
                delivered_kwh=context.delivered_kwh,
                returned_kwh=context.returned_kwh,
                swap_at=context.at,
                intervals=context.intervals,
                calendar=context.calendar,
                prices=pricing.StationPrices(
                    energy=tariff.energy_prices(),
                    service_per_kwh=tariff.service_fee_per_kwh,
                    service_per_swap=tariff.service_fee_per_swap,
                    min_billable_kwh=tariff.min_billable_kwh,
                ),
                operator=str(operator.pk),
                platform=platform,
                returned_battery=returned,
                commissions=commissions,
            )
        )
    except (pricing.BillingError, CalendarError):
        return None


def _same(stored: list[OrderLine], bill: pricing.Bill) -> bool:
    charged = [line for line in stored if line.kind != LineKind.COMMISSION]
    commissions = [line for line in stored if line.kind == LineKind.COMMISSION]
    if len(charged) != len(bill.lines) or len(commissions) != len(bill.commissions):
        return False
    for line, priced in zip(charged, bill.lines, strict=True):
        period = priced.period.value if priced.period else ""
        if (line.kind, line.period, line.kwh, line.unit_price, line.amount_fen, str(line.beneficiary_id)) != (
            priced.kind.value,
            period,
            priced.kwh,
            priced.unit_price,
            priced.amount_fen,
            priced.beneficiary,
        ):
            return False
    for line, commission in zip(commissions, bill.commissions, strict=True):
        if (str(line.earner_id), line.base_fen, line.unit_price, line.amount_fen) != (
            commission.earner,
            commission.share_fen,
            commission.rate,
            commission.amount_fen,
        ):
            return False
    return True


# --- Charging -----------------------------------------------------------------------------
def _microseconds(span: timedelta) -> Decimal:
    return Decimal(span // timedelta(microseconds=1))


def _charging(context: PricingContext) -> dict[str, Any]:
    """The delivered battery's charging intervals and how much of each fell in each period."""
    intervals = []
    totals: dict[Period, Decimal] = {}
    calendar = context.calendar
    for interval in sorted(context.intervals, key=lambda i: (i.start, i.end, i.kwh)):
        parts: dict[Period, Decimal] = {}
        if calendar is not None and interval.end > interval.start:
            duration = _microseconds(interval.end - interval.start)
            try:
                pieces = calendar.pieces(interval.start, interval.end)
            except CalendarError:
                pieces = []  # no calendar in force then: the stage no longer reprices (reproduced false)
            for period, length in pieces:
                parts[period] = parts.get(period, ZERO) + interval.kwh * _microseconds(length) / duration
        for period, amount in parts.items():
            totals[period] = totals.get(period, ZERO) + amount
        intervals.append(
            {
                "started_at": _moment(interval.start),
                "ended_at": _moment(interval.end),
                "kwh": _kwh(interval.kwh),
                "by_period": [
                    {"period": period.value, "period_label": period_label(period), "kwh": _kwh(parts[period])}
                    for period in Period
                    if parts.get(period)
                ],
            }
        )
    charged = sum(totals.values(), ZERO)
    return {
        "since": _moment(context.left_vehicle_at),
        "until": _moment(context.at),
        "intervals": intervals,
        "charged_kwh": _kwh(charged),
        "by_period": [
            {
                "period": period.value,
                "period_label": period_label(period),
                "kwh": _kwh(totals[period]),
                "share_pct": _dec(totals[period] * HUNDRED / charged, "0.01"),
            }
            for period in Period
            if totals.get(period)
        ],
    }


def _period_at(calendar: Calendar | None, at: datetime) -> str | None:
    if calendar is None:
        return None
    try:
        return calendar.period_at(at).value
    except CalendarError:
        return None


def _energy_basis(context: PricingContext, energy: Decimal, charging: dict[str, Any]) -> str:
    if energy == 0:
        return EnergyBasis.NO_ENERGY
    if charging["by_period"]:
        return EnergyBasis.CHARGING_HISTORY
    return EnergyBasis.SWAP_TIME_PERIOD


# --- Lines ------------------------------------------------------------------------------
def _rounding(exact_yuan: Decimal, amount_fen: int) -> dict[str, str]:
    exact_fen = exact_yuan * FEN_PER_YUAN
    return {
        "exact_amount": _dec(exact_yuan, "0.000001"),
        "rounding_fen": f"{(Decimal(amount_fen) - exact_fen).quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):+}",
        "rule": "half_up_to_fen",
    }


def _tariff_source(tariff: StationTariff | None) -> dict[str, Any] | None:
    if tariff is None:
        return None
    return {
        "kind": "station_tariff",
        "id": tariff.pk,
        "effective_from": _moment(tariff.effective_from),
        "scope": None,
        "health_grade": None,
    }


def _rate_source(context: PricingContext) -> dict[str, Any] | None:
    rate = context.rate
    if rate is None:
        return None
    return {
        "kind": "battery_rate",
        "id": rate.pk,
        "effective_from": _moment(rate.effective_from),
        "scope": context.rate_scope,
        "health_grade": rate.health_grade or None,
    }


def _energy_words(line: OrderLine, *, basis: str, energy: Decimal, charging: dict[str, Any], context: PricingContext) -> str:
    label = period_label(line.period)
    if basis == EnergyBasis.SWAP_TIME_PERIOD:
        return _("No charging history: the swap time's period (%(period)s at %(time)s) takes all %(kwh)s kWh.") % {
            "period": label,
            "time": _local(context.at),
            "kwh": _kwh(line.kwh),
        }
    share = next((part["share_pct"] for part in charging["by_period"] if part["period"] == line.period), "0")
    count = len(charging["intervals"])
    return ngettext(
        "%(kwh)s kWh of the %(energy)s kWh billed: the %(period)s share (%(share)s %%) of the %(charged)s kWh "
        "the station charged into %(battery)s in %(count)d interval.",
        "%(kwh)s kWh of the %(energy)s kWh billed: the %(period)s share (%(share)s %%) of the %(charged)s kWh "
        "the station charged into %(battery)s in %(count)d intervals.",
        count,
    ) % {
        "kwh": _kwh(line.kwh),
        "energy": _kwh(energy),
        "period": label,
        "share": share,
        "charged": charging["charged_kwh"],
        "battery": context.delivered.code,
        "count": count,
    }


def _line(
    line: OrderLine, *, context: PricingContext | None, basis: str, energy: Decimal, charging: dict[str, Any]
) -> dict[str, Any]:
    unit_price = line.unit_price
    kind = line.kind
    source: dict[str, Any] | None = None
    derivation = ""
    if kind == LineKind.ENERGY:
        exact = (line.kwh or ZERO) * unit_price
        source = _tariff_source(context.tariff) if context else None
        if context is not None:
            derivation = _energy_words(line, basis=basis, energy=energy, charging=charging, context=context)
    elif kind == LineKind.SERVICE_ENERGY:
        exact = (line.kwh or ZERO) * unit_price
        source = _tariff_source(context.tariff) if context else None
        minimum = context.tariff.min_billable_kwh if context and context.tariff else ZERO
        if line.kwh is not None and line.kwh > energy:
            derivation = _("The minimum billable energy of %(minimum)s kWh (%(energy)s kWh delivered).") % {
                "minimum": _kwh(minimum),
                "energy": _kwh(energy),
            }
        else:
            derivation = _("The energy billed: %(delivered)s kWh handed out less %(returned)s kWh returned.") % {
                "delivered": _kwh(context.delivered_kwh if context else None),
                "returned": _kwh(context.returned_kwh if context else None),
            }
    elif kind == LineKind.SERVICE_SWAP:
        exact = unit_price
        source = _tariff_source(context.tariff) if context else None
        derivation = _("The station's fee per swap.")
    else:  # battery usage
        exact = (line.kwh or ZERO) * unit_price
        if context is not None:
            source = _rate_source(context)
            returned_code = context.returned.code if context.returned else ""
            derivation = _(
                "%(battery)s delivered %(kwh)s kWh on this trip: %(handout)s kWh at its hand-out less %(returned)s kWh at return."
            ) % {
                "battery": returned_code,
                "kwh": _kwh(line.kwh),
                "handout": _kwh(context.handed_out_kwh),
                "returned": _kwh(context.returned_kwh),
            }
    return {
        "position": line.position,
        "kind": kind,
        "title": str(LineKind(kind).label),
        "beneficiary": _organisation(line.beneficiary),
        "period": line.period or None,
        "period_label": period_label(line.period) if line.period else None,
        "kwh": _kwh(line.kwh),
        "derivation": derivation,
        "unit_price": _dec(unit_price, "0.00001"),
        "price_source": source,
        "amount": money_json(line.amount_fen),
        **_rounding(exact, line.amount_fen),
    }


def _commission(line: OrderLine, context: PricingContext | None) -> dict[str, Any]:
    earner = line.earner
    assert earner is not None
    base = line.base_fen or 0
    exact = Decimal(base) / FEN_PER_YUAN * line.unit_price
    contract = context.contracts.get(earner.pk) if context else None
    bound = ""
    if contract is not None:
        raw = to_fen(exact)
        if raw < contract.commission_min_fen and line.amount_fen == min(contract.commission_min_fen, base):
            bound = "minimum"
        elif contract.commission_max_fen is not None and raw > contract.commission_max_fen:
            bound = "maximum"
    words = _("Of which, platform commission: %(amount)s, %(rate)s %% of %(earner)s's %(base)s.") % {
        "amount": _yuan(line.amount_fen),
        "rate": _dec(line.unit_price * HUNDRED, "0.01"),
        "earner": earner.name,
        "base": _yuan(base),
    }
    if bound == "minimum":
        words += " " + _("The contract's minimum per order applies.")
    elif bound == "maximum":
        words += " " + _("The contract's maximum per order applies.")
    return {
        "position": line.position,
        "kind": LineKind.COMMISSION.value,
        "title": str(LineKind.COMMISSION.label),
        "earner": _organisation(earner),
        "beneficiary": _organisation(line.beneficiary),
        "base": money_json(base),
        "rate": str(line.unit_price),
        "contract": None
        if contract is None
        else {
            "id": contract.pk,
            "effective_from": contract.effective_from.isoformat(),
            "min": money_json(contract.commission_min_fen),
            "max": None if contract.commission_max_fen is None else money_json(contract.commission_max_fen),
        },
        "bound": bound or None,
        "derivation": words,
        "amount": money_json(line.amount_fen),
        **_rounding(exact, line.amount_fen),
    }


def _stage(
    order: SwapOrder, stage: LineStage, lines: list[OrderLine], *, owner_ids: frozenset[int] | None
) -> dict[str, Any] | None:
    """One stage explained; ``owner_ids``: a battery owner's view (only those organisations' lines)."""
    stored = [line for line in lines if line.stage == stage]
    if stage == LineStage.BILL and order.bill_total_fen is None:
        return None
    earners = list({line.beneficiary_id: line.beneficiary for line in stored if line.kind != LineKind.COMMISSION}.values())
    context = _context(order, stage, earners)
    platform = next((str(line.beneficiary_id) for line in stored if line.kind == LineKind.COMMISSION), "platform")
    repriced = _reprice(order, context, platform=platform) if context is not None else None
    reproduced = repriced is not None and _same(stored, repriced)
    if stage == LineStage.BILL:
        total, delivered_kwh, returned_kwh = order.bill_total_fen or 0, order.delivered_kwh, order.returned_kwh
    else:
        total, delivered_kwh, returned_kwh = order.quote_total_fen, order.quote_delivered_kwh, order.quote_returned_kwh
    energy = kwh(delivered_kwh or ZERO) - kwh(returned_kwh or ZERO)
    charging = _charging(context) if context is not None else {"by_period": [], "intervals": []}
    basis = _energy_basis(context, energy, charging) if context is not None else ""
    if owner_ids is not None:
        stored = [line for line in stored if line.beneficiary_id in owner_ids or line.earner_id in owner_ids]
    explained = [
        _line(line, context=context, basis=basis, energy=energy, charging=charging)
        for line in stored
        if line.kind != LineKind.COMMISSION
    ]
    commissions = [_commission(line, context) for line in stored if line.kind == LineKind.COMMISSION]
    data: dict[str, Any] = {
        "stage": stage.value,
        "priced_at": _moment(context.at) if context else None,
        "total": money_json(total),
        "delivered_battery": context.delivered.code if context else None,
        "delivered_kwh": _kwh(delivered_kwh),
        "returned_battery": context.returned.code if context and context.returned else None,
        "returned_kwh": _kwh(returned_kwh),
        "energy_kwh": _kwh(energy),
        "energy_basis": basis or None,
        "charging": None,
        "tariff": _tariff_source(context.tariff) if context else None,
        "calendar": None,
        "lines": explained,
        "commissions": commissions,
        "reproduced": reproduced,
    }
    if owner_ids is None and context is not None:
        # The delivered battery's charging explains the operator's energy lines: the full view.
        data["charging"] = charging
        version = context.calendar_version
        if version is not None:
            data["calendar"] = {
                "zone": version.zone,
                "effective_from": version.effective_from.isoformat(),
                "policy": version.policy,
                "swap_time_period": _period_at(context.calendar, context.at),
            }
    return data


def _comparison(order: SwapOrder) -> dict[str, Any]:
    tolerance = Decimal(settings.QUOTE_TOLERANCE_PCT)
    quote, bill = order.quote_total_fen, order.bill_total_fen
    difference = None if bill is None else bill - quote
    pct = None
    if difference is not None and quote:
        pct = _dec(Decimal(difference) * HUNDRED / Decimal(quote), "0.01")
    # The completion's own rule (a bill beyond the tolerance flags the order for review).
    beyond = None if bill is None else review_needed(order, bill)[0]
    return {
        "quote": money_json(quote),
        "bill": None if bill is None else money_json(bill),
        "difference": None if difference is None else money_json(difference),
        "difference_pct": pct,
        "tolerance_pct": str(tolerance),
        "beyond_tolerance": beyond,
        "review_required": order.review_required,
        "review_reason": order.review_reason,
    }


def bill_explanation(*, actor: Actor, order: SwapOrder) -> dict[str, Any]:
    """The order's quote and bill explained for an actor who sees the order (``selectors.order_get``
    decided; its lines are prefetched there)."""
    view = swap_access.order_view(actor, order)
    assert view is not None
    owner_ids = actor.owner_admin_of if view == swap_access.OrderView.OWNER else None
    lines = list(order.lines.all())
    return {
        "order": order.pk,
        "view": view.value,
        "state": order.state,
        "station": {"code": order.station.code, "name_zh": order.station.name_zh, "name_en": order.station.name_en},
        "currency": "CNY",
        "explained_at": _moment(timezone.now()),
        "quote": _stage(order, LineStage.QUOTE, lines, owner_ids=owner_ids),
        "bill": _stage(order, LineStage.BILL, lines, owner_ids=owner_ids),
        "comparison": _comparison(order),
    }
