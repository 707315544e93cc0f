"""Pricing a swap: a pure function from plain data to a bill (PRODUCT.md, "Billing model").

The driver is handed battery B and returns battery A.

- Energy billed = energy in B at hand-out − energy left in A at return. It is split across the
  time-of-use periods in the proportions in which the station charged B (each charging interval
  shared by time across the periods it spans); with no charging history, the period at the swap
  time takes it all. Each part is priced at the station's price for that period → the operator.
- Service fee per kWh (on at least the minimum billable energy) and per swap → the operator.
- Battery usage fee of A for the energy it delivered on this trip, at A's rate → A's owner.
- Platform commission: a percentage of each earner's share, within a minimum and maximum per
  order. It comes out of the earner's share and does not raise what the driver pays.

Every line is rounded half up to the fen once (``apps.common.money.to_fen``); the total is the sum
of the lines. Energy is Decimal kWh with three decimals. No float anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from apps.billing.tou import PERIOD_ORDER, Calendar, Period
from apps.common.money import FEN_PER_YUAN, KWH_QUANTUM, kwh, to_fen

ZERO = Decimal(0)


class BillingError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LineKind(StrEnum):
    ENERGY = "energy"
    SERVICE_ENERGY = "service_energy"
    SERVICE_SWAP = "service_swap"
    BATTERY_USAGE = "battery_usage"


@dataclass(frozen=True)
class ChargingInterval:
    start: datetime
    end: datetime
    kwh: Decimal


@dataclass(frozen=True)
class StationPrices:
    energy: Mapping[Period, Decimal]  # CNY per kWh, by period
    service_per_kwh: Decimal = ZERO
    service_per_swap: Decimal = ZERO
    min_billable_kwh: Decimal = ZERO  # the per-kWh service fee is charged on at least this


@dataclass(frozen=True)
class CommissionTerms:
    rate: Decimal  # a fraction: 0.05 is 5 %
    min_fen: int = 0
    max_fen: int | None = None


@dataclass(frozen=True)
class ReturnedBattery:
    code: str
    owner: str
    trip_kwh: Decimal  # energy at its last hand-out − energy at this return
    rate: Decimal | None  # CNY per kWh; None when its owner has set no rate


@dataclass(frozen=True)
class BillInput:
    delivered_kwh: Decimal
    returned_kwh: Decimal
    swap_at: datetime
    intervals: Sequence[ChargingInterval]
    calendar: Calendar
    prices: StationPrices
    operator: str
    platform: str
    returned_battery: ReturnedBattery | None = None
    commissions: Mapping[str, CommissionTerms] = field(default_factory=dict)


@dataclass(frozen=True)
class BillLine:
    kind: LineKind
    beneficiary: str
    amount_fen: int
    unit_price: Decimal  # CNY per kWh, or per swap
    kwh: Decimal | None = None
    period: Period | None = None


@dataclass(frozen=True)
class CommissionLine:
    earner: str
    beneficiary: str
    share_fen: int
    rate: Decimal
    amount_fen: int


@dataclass(frozen=True)
class Bill:
    energy_kwh: Decimal
    split: tuple[tuple[Period, Decimal], ...]
    lines: tuple[BillLine, ...]
    commissions: tuple[CommissionLine, ...]

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    def shares(self) -> dict[str, int]:
        """What each party receives, commission already moved to the platform; sums to the total."""
        shares: dict[str, int] = {}
        for line in self.lines:
            shares[line.beneficiary] = shares.get(line.beneficiary, 0) + line.amount_fen
        for commission in self.commissions:
            shares[commission.earner] -= commission.amount_fen
            shares[commission.beneficiary] = shares.get(commission.beneficiary, 0) + commission.amount_fen
        return shares


def charged_by_period(intervals: Sequence[ChargingInterval], calendar: Calendar) -> dict[Period, Decimal]:
    """kWh charged in each period, each interval spread evenly over its duration.

    The intervals are taken in a canonical order so that the result never depends on the order
    in which controllers reported them.
    """
    charged: dict[Period, Decimal] = {}
    for interval in sorted(intervals, key=lambda i: (i.start, i.end, i.kwh)):
        if interval.end <= interval.start or interval.kwh < 0:
            raise BillingError("charging_interval_invalid", "A charging interval must end after it starts and add energy.")
        duration = _microseconds(interval.end - interval.start)
        for period, length in calendar.pieces(interval.start, interval.end):
            charged[period] = charged.get(period, ZERO) + interval.kwh * _microseconds(length) / duration
    return charged


def _microseconds(span: timedelta) -> Decimal:
    return Decimal(span // timedelta(microseconds=1))


def split_energy(
    energy_kwh: Decimal, *, intervals: Sequence[ChargingInterval], calendar: Calendar, swap_at: datetime
) -> dict[Period, Decimal]:
    """Split the billed energy across periods in the charging proportions, to the 0.001 kWh.

    Largest remainder: each period gets its floor in 0.001 kWh units, the units left go to the
    largest remainders (ties in the fixed period order), so the parts always sum exactly.
    """
    charged = {period: amount for period, amount in charged_by_period(intervals, calendar).items() if amount > 0}
    total_charged = sum(charged.values(), ZERO)
    if energy_kwh == 0:
        return {}
    if total_charged == 0:
        return {calendar.period_at(swap_at): energy_kwh}
    units = int(energy_kwh / KWH_QUANTUM)
    exact = {period: Decimal(units) * amount / total_charged for period, amount in charged.items()}
    floors = {period: int(value) for period, value in exact.items()}
    left = units - sum(floors.values())
    by_remainder = sorted(exact, key=lambda period: (-(exact[period] - floors[period]), PERIOD_ORDER.index(period)))
    for period in by_remainder[:left]:
        floors[period] += 1
    return {
        period: KWH_QUANTUM * count for period, count in sorted(floors.items(), key=lambda kv: PERIOD_ORDER.index(kv[0])) if count
    }


def price_bill(bill_input: BillInput) -> Bill:
    """The bill of one swap (or its quote, from estimated inputs)."""
    delivered, returned = kwh(bill_input.delivered_kwh), kwh(bill_input.returned_kwh)
    if delivered < 0 or returned < 0:
        raise BillingError("energy_negative", "Battery energy readings cannot be negative.")
    if returned > delivered:
        raise BillingError(
            "returned_energy_exceeds_delivered",
            "The returned battery holds more energy than the one handed out; the readings need review.",
        )
    energy = delivered - returned
    prices = bill_input.prices
    split = split_energy(energy, intervals=bill_input.intervals, calendar=bill_input.calendar, swap_at=bill_input.swap_at)

    lines: list[BillLine] = []
    for period, period_kwh in split.items():
        price = prices.energy.get(period)
        if price is None:
            raise BillingError("tariff_incomplete", f"The station's tariff has no energy price for the {period} period.")
        lines.append(BillLine(LineKind.ENERGY, bill_input.operator, to_fen(period_kwh * price), price, period_kwh, period))
    if prices.service_per_kwh > 0:
        billable = max(energy, kwh(prices.min_billable_kwh))
        lines.append(
            BillLine(
                LineKind.SERVICE_ENERGY,
                bill_input.operator,
                to_fen(billable * prices.service_per_kwh),
                prices.service_per_kwh,
                billable,
            )
        )
    if prices.service_per_swap > 0:
        lines.append(
            BillLine(LineKind.SERVICE_SWAP, bill_input.operator, to_fen(prices.service_per_swap), prices.service_per_swap)
        )
    battery = bill_input.returned_battery
    if battery is not None and battery.rate is not None and battery.trip_kwh > 0:
        trip = kwh(battery.trip_kwh)
        lines.append(BillLine(LineKind.BATTERY_USAGE, battery.owner, to_fen(trip * battery.rate), battery.rate, trip))

    return Bill(
        energy_kwh=energy,
        split=tuple(split.items()),
        lines=tuple(lines),
        commissions=_commissions(lines, bill_input.commissions, bill_input.platform),
    )


def _commissions(lines: Sequence[BillLine], terms: Mapping[str, CommissionTerms], platform: str) -> tuple[CommissionLine, ...]:
    shares: dict[str, int] = {}
    for line in lines:
        shares[line.beneficiary] = shares.get(line.beneficiary, 0) + line.amount_fen
    result = []
    for earner in sorted(shares):
        contract = terms.get(earner)
        share = shares[earner]
        if contract is None or share <= 0 or earner == platform:
            continue
        amount = max(to_fen(Decimal(share) / FEN_PER_YUAN * contract.rate), contract.min_fen)
        if contract.max_fen is not None:
            amount = min(amount, contract.max_fen)
        result.append(CommissionLine(earner, platform, share, contract.rate, min(amount, share)))
    return tuple(result)
