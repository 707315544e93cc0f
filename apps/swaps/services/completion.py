"""Completing a swap: the controller's report (or staff's corrected readings) → the final bill,
the money cleared, the batteries moved; abnormal orders and their resolution; settlement.

Completion is one database transaction, taking its locks in the fixed order: the payer's wallet
accounts, the order, the two batteries (``services.locks``). In it:

- the bill is priced from the reported BMS readings (``services.billing``) and kept beside the
  quote; a bill further from the quote than ``SWAPNET_QUOTE_TOLERANCE_PCT`` flags the order for
  review (it still completes);
- the hold is captured and the bill cleared to the station operator, the battery owner and the
  platform, commission per contract (``apps.ledger`` ``order_clear``; a bill above the hold
  takes the rest from the wallet or books a debt, by the ledger's rules; an expired hold is
  simply not used);
- a vehicle that carried no battery to return has its energy deposit taken from the wallet (the
  hold covered it; ``services.deposits``): a separate ledger movement, not part of the bill;
- the delivered battery goes into the vehicle and the returned one into the slot it left, with
  their readings, and a custody event each;
- the order becomes ``completed``; ``transaction.on_commit`` announces it (``apps.swaps.events``).

A report is checked before anything moves; readings that cannot be right make the order
``abnormal`` with the reason (returned battery not the vehicle's, a reading out of range, more
energy returned than delivered, a battery too hot), and nothing is billed. Staff then resolve it:
complete with corrected readings, or cancel (the battery and the hold are released; an order
already billed is refunded by reversal).

A report is idempotent: the first is stored with its answer (``receipt``), a replay of the same
report gets that answer again, and a different report for the same order is ``report_conflict``.
A report that arrives for an order already abnormal (the controller was offline, the swap timed
out) is stored as it came, for staff to resolve the order with; it moves nothing by itself.

An order is ``settled`` once every party its payment touched has a closed statement that holds
it (the account periods of their contracts), or at once when its bill was 0.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access import Actor
from apps.access import swaps as swap_access
from apps.assets.models import Battery, BatteryLocation, Station
from apps.common.errors import ApplicationError
from apps.common.money import kwh, money_json
from apps.ledger.models import Entry, HoldStatus, StatementLine
from apps.ledger.services import order_clear, order_refund
from apps.swaps.errors import forbidden, illegal_transition, refusal
from apps.swaps.models import (
    AbnormalReason,
    BatteryCustodyEvent,
    ControllerCommand,
    ControllerCredential,
    ControllerReport,
    CustodyKind,
    LineStage,
    OrderState,
    ReportOutcome,
    SwapOrder,
)
from apps.swaps.services.billing import PricedSwap, lines_store, swap_price
from apps.swaps.services.deposits import deposit_take
from apps.swaps.services.locks import lock_batteries, lock_order
from apps.swaps.services.queue import cancel
from apps.swaps.services.transitions import By, move, require_transition

# A reading of a battery's energy may exceed its rating by this much (BMS estimates, new packs).
RATING_TOLERANCE = Decimal("1.05")
CLOCK_SKEW = timedelta(minutes=5)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class SwapReading:
    """What a swap did: the battery handed out and the one taken back, with their BMS energy."""

    delivered_battery: str
    returned_battery: str | None
    delivered_kwh: Decimal
    returned_kwh: Decimal
    started_at: datetime
    ended_at: datetime
    delivered_temperature_c: Decimal | None = None
    delivered_soc_pct: Decimal | None = None
    returned_soc_pct: Decimal | None = None


@dataclass(frozen=True)
class Problem:
    reason: AbnormalReason
    detail: str


def clearing_external_id(order: SwapOrder) -> str:
    return f"swap-order:{order.pk}"


def payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


# --- Checking a reading -----------------------------------------------------------------
def _check(order: SwapOrder, reading: SwapReading, batteries: dict[str, Battery], *, now: datetime) -> Problem | None:
    delivered = batteries.get(reading.delivered_battery)
    if delivered is None or delivered.pk != order.reserved_battery_id:
        return Problem(AbnormalReason.DELIVERED_BATTERY_MISMATCH, f"handed out {reading.delivered_battery}")
    if delivered.location != BatteryLocation.STATION or delivered.station_id != order.station_id:
        return Problem(AbnormalReason.DELIVERED_BATTERY_MISMATCH, f"{delivered.code} is not in this station's slots")
    expected_return = order.expected_return_battery_id
    returned = batteries.get(reading.returned_battery or "")
    if (returned.pk if returned else None) != expected_return:
        return Problem(AbnormalReason.RETURNED_BATTERY_MISMATCH, f"took back {reading.returned_battery or 'no battery'}")
    if returned is not None and (returned.location != BatteryLocation.VEHICLE or returned.vehicle_id != order.vehicle_id):
        return Problem(AbnormalReason.RETURNED_BATTERY_MISMATCH, f"{returned.code} is not in the vehicle")
    if not Decimal(0) <= reading.delivered_kwh <= delivered.rated_kwh * RATING_TOLERANCE:
        return Problem(AbnormalReason.READING_OUT_OF_RANGE, f"delivered {reading.delivered_kwh} kWh of {delivered.rated_kwh}")
    limit = returned.rated_kwh * RATING_TOLERANCE if returned is not None else Decimal(0)
    if not Decimal(0) <= reading.returned_kwh <= limit:
        return Problem(AbnormalReason.READING_OUT_OF_RANGE, f"returned {reading.returned_kwh} kWh")
    started_from = (order.confirmed_at or order.created_at) - CLOCK_SKEW
    if not started_from <= reading.started_at <= reading.ended_at <= now + CLOCK_SKEW:
        return Problem(AbnormalReason.READING_OUT_OF_RANGE, "the swap's start and end times are impossible")
    if reading.returned_kwh > reading.delivered_kwh:
        return Problem(
            AbnormalReason.RETURNED_ENERGY_EXCEEDS_DELIVERED,
            f"returned {reading.returned_kwh} kWh, delivered {reading.delivered_kwh} kWh",
        )
    if reading.delivered_temperature_c is not None and reading.delivered_temperature_c > settings.BATTERY_MAX_TEMPERATURE_C:
        return Problem(AbnormalReason.BATTERY_TOO_HOT, f"{reading.delivered_temperature_c} °C")
    return None


def _batteries_of(order: SwapOrder, reading: SwapReading) -> dict[str, Battery]:
    """The order's batteries and the reported ones, locked (ascending id), by code."""
    codes = {reading.delivered_battery, *([reading.returned_battery] if reading.returned_battery else [])}
    ids = set(Battery.objects.filter(code__in=codes).values_list("pk", flat=True))
    ids |= {order.reserved_battery_id, *([order.expected_return_battery_id] if order.expected_return_battery_id else [])}
    return {battery.code: battery for battery in lock_batteries(ids).values()}


# --- Completing -------------------------------------------------------------------------
def _charge_pct(battery: Battery, energy: Decimal, reported: Decimal | None) -> Decimal:
    if reported is not None:
        return min(max(reported, Decimal(0)), HUNDRED).quantize(Decimal("0.01"))
    usable = battery.rated_kwh * battery.health_pct / HUNDRED
    if usable <= 0:
        return battery.charge_pct
    return min(energy / usable * HUNDRED, HUNDRED).quantize(Decimal("0.01"))


def _review(order: SwapOrder, bill_fen: int) -> tuple[bool, str]:
    quote = order.quote_total_fen
    tolerance = Decimal(settings.QUOTE_TOLERANCE_PCT)
    difference = abs(bill_fen - quote)
    flagged = difference > 0 if quote == 0 else Decimal(difference) * HUNDRED > Decimal(quote) * tolerance
    if not flagged:
        return False, ""
    pct = "∞" if quote == 0 else f"{Decimal(difference) * HUNDRED / Decimal(quote):.1f}"
    return True, f"bill {bill_fen} fen differs from quote {quote} fen by {pct} % (tolerance {tolerance} %)"


def _clear(order: SwapOrder, priced: PricedSwap) -> None:
    """Capture the hold and clear the bill to its earners (the ledger's ``order_clear``)."""
    hold = order.hold if order.hold_id is not None else None
    if hold is not None:
        hold.refresh_from_db(fields=["status"])
        if hold.status != HoldStatus.PENDING:
            hold = None  # expired (or voided) meanwhile: the bill is paid from the wallet
    payment = order_clear(
        external_id=clearing_external_id(order),
        payer=order.carrier,
        bill_shares=priced.shares(),
        hold=hold,
        commissions=priced.commissions(),
        reference=f"swap order {order.pk}",
    )
    order.payment_transaction = payment.transaction


def _move_batteries(order: SwapOrder, delivered: Battery, returned: Battery | None, reading: SwapReading) -> None:
    """The delivered battery into the vehicle, the returned one into the slot it left; readings;
    a custody event each. The returned battery passes through ``in_transit`` so that neither the
    slot nor the vehicle position ever holds two batteries."""
    station_id, slot = delivered.station_id, delivered.station_slot
    position = returned.vehicle_position if returned is not None and returned.vehicle_position else order.vehicle_position
    at = reading.ended_at
    placement = ["location", "station", "station_slot", "vehicle", "vehicle_position"]
    readings = ["energy_kwh", "charge_pct", "telemetry_at", "updated_at"]
    if returned is not None:
        returned.location, returned.vehicle, returned.vehicle_position = BatteryLocation.IN_TRANSIT, None, None
        returned.save(update_fields=[*placement, "updated_at"])
    delivered.location, delivered.station_id, delivered.station_slot = BatteryLocation.VEHICLE, None, None
    delivered.vehicle_id, delivered.vehicle_position = order.vehicle_id, position
    delivered.charge_pct = _charge_pct(delivered, reading.delivered_kwh, reading.delivered_soc_pct)
    delivered.energy_kwh, delivered.telemetry_at = kwh(reading.delivered_kwh), at
    delivered.save(update_fields=[*placement, *readings])
    events = [
        BatteryCustodyEvent(
            battery=delivered,
            kind=CustodyKind.DELIVERED,
            at=at,
            order=order,
            vehicle_id=order.vehicle_id,
            vehicle_position=position,
            energy_kwh=kwh(reading.delivered_kwh),
        )
    ]
    if returned is not None:
        returned.location, returned.station_id, returned.station_slot = BatteryLocation.STATION, station_id, slot
        returned.charge_pct = _charge_pct(returned, reading.returned_kwh, reading.returned_soc_pct)
        returned.energy_kwh, returned.telemetry_at = kwh(reading.returned_kwh), at
        returned.cycle_count += 1
        returned.save(update_fields=[*placement, *readings, "cycle_count"])
        events.append(
            BatteryCustodyEvent(
                battery=returned,
                kind=CustodyKind.RETURNED,
                at=at,
                order=order,
                station_id=station_id,
                station_slot=slot,
                energy_kwh=kwh(reading.returned_kwh),
            )
        )
    BatteryCustodyEvent.objects.bulk_create(events)


def _complete(
    order: SwapOrder, reading: SwapReading, batteries: dict[str, Battery], *, by: By, cause: str, now: datetime
) -> None:
    """Bill, clear and move a locked order whose reading passed ``_check``."""
    require_transition(order, OrderState.COMPLETED)
    delivered = batteries[reading.delivered_battery]
    returned = batteries[reading.returned_battery] if reading.returned_battery else None
    priced = swap_price(
        station=order.station,
        at=reading.started_at,
        delivered=delivered,
        delivered_kwh=reading.delivered_kwh,
        returned=returned,
        returned_kwh=reading.returned_kwh,
    )
    lines_store(order=order, stage=LineStage.BILL, priced=priced)
    _clear(order, priced)
    _move_batteries(order, delivered, returned, reading)
    order.delivered_battery, order.returned_battery = delivered, returned
    order.delivered_kwh, order.returned_kwh = kwh(reading.delivered_kwh), kwh(reading.returned_kwh)
    order.swap_started_at, order.swap_ended_at = reading.started_at, reading.ended_at
    order.bill_total_fen = priced.total_fen
    order.review_required, order.review_reason = _review(order, priced.total_fen)
    # A vehicle's first network battery: its deposit, from what the capture gave back to the wallet.
    deposit_take(order, at=now)
    order.battery_held, order.completed_at = False, now
    move(
        order,
        OrderState.COMPLETED,
        by=by,
        cause=cause,
        at=now,
        update_fields=[
            "delivered_battery",
            "returned_battery",
            "delivered_kwh",
            "returned_kwh",
            "swap_started_at",
            "swap_ended_at",
            "bill_total_fen",
            "payment_transaction",
            "review_required",
            "review_reason",
            "battery_held",
            "completed_at",
        ],
    )
    ControllerCommand.objects.filter(order=order, done_at__isnull=True).update(done_at=now)


def _mark_abnormal(order: SwapOrder, problem: Problem, *, by: By, now: datetime) -> None:
    require_transition(order, OrderState.ABNORMAL)
    order.abnormal_from = order.state
    order.abnormal_reason, order.abnormal_detail = problem.reason, problem.detail[:300]
    move(
        order,
        OrderState.ABNORMAL,
        by=by,
        cause=f"{problem.reason}: {problem.detail}",
        at=now,
        update_fields=["abnormal_from", "abnormal_reason", "abnormal_detail"],
    )
    ControllerCommand.objects.filter(order=order, done_at__isnull=True).update(done_at=now)


def receipt_of(order: SwapOrder, outcome: ReportOutcome) -> dict[str, Any]:
    """The answer to a report, kept with it and given again to every replay."""
    return {
        "order": order.pk,
        "outcome": outcome.value,
        "state": order.state,
        "abnormal_reason": order.abnormal_reason or None,
        "quote": money_json(order.quote_total_fen),
        "bill": None if order.bill_total_fen is None else money_json(order.bill_total_fen),
        "review_required": order.review_required,
        "delivered_battery": order.delivered_battery.code if order.delivered_battery else None,
        "returned_battery": order.returned_battery.code if order.returned_battery else None,
    }


def swap_report(
    *, credential: ControllerCredential, order: SwapOrder, reading: SwapReading, payload: dict[str, Any]
) -> ControllerReport:
    """The controller of the order's station reports its swap: completion, or abnormal with the
    reason. Idempotent: the same report again gets the stored answer; another is a conflict."""
    digest = payload_digest(payload)
    now = timezone.now()
    with transaction.atomic():
        locked = lock_order(order.pk, payer_id=order.carrier_id)
        existing = ControllerReport.objects.filter(order=locked).first()
        if existing is not None:
            if existing.payload_hash != digest:
                raise refusal("report_conflict")
            return existing
        by = By.controller_of(credential)
        if locked.state == OrderState.ABNORMAL:
            outcome = ReportOutcome.ABNORMAL  # kept for staff, who resolve the order with it
        elif locked.state != OrderState.SWAPPING:
            raise illegal_transition(locked.state, OrderState.COMPLETED)
        else:
            batteries = _batteries_of(locked, reading)
            problem = _check(locked, reading, batteries, now=now)
            if problem is None:
                _complete(locked, reading, batteries, by=by, cause="swap reported by the station controller", now=now)
                outcome = ReportOutcome.COMPLETED
            else:
                _mark_abnormal(locked, problem, by=by, now=now)
                outcome = ReportOutcome.ABNORMAL
        return ControllerReport.objects.create(
            order=locked,
            credential=credential,
            payload=payload,
            payload_hash=digest,
            outcome=outcome,
            receipt=receipt_of(locked, outcome),
            received_at=now,
        )


# --- Staff: abnormal and resolve --------------------------------------------------------
def swap_mark_abnormal(*, actor: Actor, order: SwapOrder, reason: str, detail: str = "") -> SwapOrder:
    """Staff, the station's operator or the platform mark an order abnormal, with a reason code
    (``AbnormalReason``) and words."""
    if not swap_access.may_flag_order(actor, order):
        raise forbidden()
    if reason not in AbnormalReason.values:
        raise refusal("abnormal_reason_invalid", fields={"reason": [", ".join(AbnormalReason.values)]})
    now = timezone.now()
    with transaction.atomic():
        locked = lock_order(order.pk, payer_id=order.carrier_id)
        words = detail.strip() or str(AbnormalReason(reason).label)
        _mark_abnormal(locked, Problem(AbnormalReason(reason), words), by=By.user(actor.user_id), now=now)
        return locked


def _correct(order: SwapOrder, reading: SwapReading, *, by: By, cause: str, now: datetime) -> None:
    """An order abnormal after it was billed, completed again with corrected readings: the bill is
    refunded by reversal and the corrected one paid (``order_refund``); the batteries stay."""
    delivered = Battery.objects.get(code=reading.delivered_battery)
    returned = Battery.objects.get(code=reading.returned_battery) if reading.returned_battery else None
    if reading.returned_kwh > reading.delivered_kwh:
        raise refusal("resolution_invalid", _("The returned energy cannot exceed the delivered energy."))
    priced = swap_price(
        station=order.station,
        at=reading.started_at,
        delivered=delivered,
        delivered_kwh=reading.delivered_kwh,
        returned=returned,
        returned_kwh=reading.returned_kwh,
    )
    if order.payment_transaction is not None:
        refund = order_refund(
            external_id=f"{clearing_external_id(order)}:refund:{order.payment_transaction_id}",
            payer=order.carrier,
            original=order.payment_transaction,
            corrected_shares=priced.shares(),
            corrected_commissions=priced.commissions(),
            reference=f"swap order {order.pk}",
        )
        order.payment_transaction = refund.correction.transaction if refund.correction else None
    else:
        _clear_without_hold(order, priced)
    lines_store(order=order, stage=LineStage.BILL, priced=priced)
    order.delivered_kwh, order.returned_kwh = kwh(reading.delivered_kwh), kwh(reading.returned_kwh)
    order.bill_total_fen = priced.total_fen
    order.review_required, order.review_reason = _review(order, priced.total_fen)
    move(
        order,
        OrderState.COMPLETED,
        by=by,
        cause=cause,
        at=now,
        update_fields=[
            "delivered_kwh",
            "returned_kwh",
            "bill_total_fen",
            "payment_transaction",
            "review_required",
            "review_reason",
        ],
    )


def _clear_without_hold(order: SwapOrder, priced: PricedSwap) -> None:
    """A corrected bill of an order whose first bill was 0 (nothing to reverse): paid anew, under
    an id numbered by the order's completions (a retry of the same correction replays)."""
    completions = order.transitions.filter(to_state=OrderState.COMPLETED).count()
    payment = order_clear(
        external_id=f"{clearing_external_id(order)}:bill:{completions + 1}",
        payer=order.carrier,
        bill_shares=priced.shares(),
        commissions=priced.commissions(),
        reference=f"swap order {order.pk}",
    )
    order.payment_transaction = payment.transaction


def swap_resolve(*, actor: Actor, order: SwapOrder, action: str, reading: SwapReading | None = None, note: str = "") -> SwapOrder:
    """Resolve an abnormal order: ``complete`` with corrected readings (billed, batteries moved;
    for an order already billed, the bill corrected by reversal), or ``cancel`` (battery and hold
    released; an order already billed refunded in full)."""
    if not swap_access.may_flag_order(actor, order):
        raise forbidden()
    if action not in ("complete", "cancel") or (action == "complete" and reading is None):
        raise refusal("resolution_invalid")
    now = timezone.now()
    by = By.user(actor.user_id)
    cause = f"resolved by staff: {action}" + (f" ({note.strip()[:200]})" if note.strip() else "")
    with transaction.atomic():
        locked = lock_order(order.pk, payer_id=order.carrier_id)
        if locked.state != OrderState.ABNORMAL:
            raise illegal_transition(locked.state, OrderState.COMPLETED if action == "complete" else OrderState.CANCELLED)
        already_billed = locked.abnormal_from == OrderState.COMPLETED
        if action == "cancel":
            if already_billed:
                _refund_in_full(locked)
                locked.cancelled_at = now
                move(locked, OrderState.CANCELLED, by=by, cause=cause, at=now, update_fields=["cancelled_at"])
            else:
                cancel(locked, by=by, cause=cause, now=now)
            return locked
        assert reading is not None
        if already_billed:
            _correct(locked, reading, by=by, cause=cause, now=now)
            return locked
        batteries = _batteries_of(locked, reading)
        problem = _check(locked, reading, batteries, now=now + CLOCK_SKEW)
        if problem is not None and problem.reason not in (AbnormalReason.BATTERY_TOO_HOT,):
            raise ApplicationError(
                problem.reason.value, f"{AbnormalReason(problem.reason).label} ({problem.detail})", status_code=409
            )
        _complete(locked, reading, batteries, by=by, cause=cause, now=now)
        return locked


def _refund_in_full(order: SwapOrder) -> None:
    if order.payment_transaction is None:
        return
    order_refund(
        external_id=f"{clearing_external_id(order)}:refund:{order.payment_transaction_id}",
        payer=order.carrier,
        original=order.payment_transaction,
        reference=f"swap order {order.pk}",
    )


# --- Periodic sweeps --------------------------------------------------------------------
def orders_flag_stalled(*, now: datetime | None = None, limit: int = 500) -> int:
    """Mark abnormal the swaps running longer than ``SWAP_TIMEOUT`` (``timeout``) and those at a
    station whose controller has gone offline (``controller_offline``). Returns how many."""
    moment = now or timezone.now()
    offline_since = moment - settings.STATION_OFFLINE_AFTER
    swapping = (
        SwapOrder.objects.filter(state=OrderState.SWAPPING).order_by("confirmed_at", "pk").values_list("pk", "carrier_id")[:limit]
    )
    flagged = 0
    for order_id, carrier_id in list(swapping):
        with transaction.atomic():
            order = lock_order(order_id, payer_id=carrier_id)
            if order.state != OrderState.SWAPPING:
                continue
            station: Station = order.station
            if station.last_heartbeat_at is None or station.last_heartbeat_at < offline_since:
                problem = Problem(
                    AbnormalReason.CONTROLLER_OFFLINE, f"no heartbeat from {station.code} since {station.last_heartbeat_at}"
                )
            elif order.confirmed_at is not None and order.confirmed_at < moment - settings.SWAP_TIMEOUT:
                minutes = int(settings.SWAP_TIMEOUT.total_seconds() // 60)
                problem = Problem(AbnormalReason.TIMEOUT, f"no report {minutes} min after the swap started")
            else:
                continue
            _mark_abnormal(order, problem, by=By.system(), now=moment)
            flagged += 1
    return flagged


def orders_settle(*, now: datetime | None = None, limit: int = 500) -> int:
    """Settle the completed orders whose payment every party it touched has in a closed statement
    (or that cost nothing). Returns how many."""
    moment = now or timezone.now()
    settled = 0
    completed = SwapOrder.objects.filter(state=OrderState.COMPLETED).order_by("completed_at", "pk")
    for order_id, transaction_id in list(completed.values_list("pk", "payment_transaction_id")[:limit]):
        if transaction_id is not None:
            parties = set(
                Entry.objects.filter(journal_transaction_id=transaction_id).values_list("account__organisation_id", flat=True)
            )
            stated = set(
                StatementLine.objects.filter(journal_transaction_id=transaction_id).values_list(
                    "statement__organisation_id", flat=True
                )
            )
            if not parties <= stated:
                continue
        with transaction.atomic():
            order = lock_order(order_id)
            if order.state != OrderState.COMPLETED or order.payment_transaction_id != transaction_id:
                continue
            order.settled_at = moment
            cause = "bill of 0: nothing to settle" if transaction_id is None else "every party's statement holds its payment"
            move(order, OrderState.SETTLED, by=By.system(), cause=cause, at=moment, update_fields=["settled_at"])
            settled += 1
    return settled
