"""A swap's quote and bill: the plain inputs of ``apps.billing.pricing`` read from the database,
and the bill's lines stored on the order.

The driver is handed battery B and returns battery A (PRODUCT.md, "Billing model"):

- B's energy at hand-out, A's energy at return: the quote takes B's and A's last known energy,
  the bill the controller's BMS readings;
- B's charging history since it last left a vehicle (its last ``returned`` custody event), up to
  the swap, shares the energy among time-of-use periods at the station's tariff in force;
- A's usage fee is for the energy it delivered on this trip: its energy at its last hand-out (its
  last ``delivered`` custody event) less its energy at return, at A's rate in force; without a
  recorded hand-out the trip is unknown and no usage fee is charged;
- commission per the earners' contracts in force (``apps.ledger`` ``commission_terms_for``), on
  the bill; a quote leaves it out (it never changes what the driver pays).

Beneficiaries are passed to pricing as organisation ids (strings) and mapped back here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.accounts.models import Organisation
from apps.assets.models import Battery, Station
from apps.billing import pricing
from apps.billing import selectors as billing_selectors
from apps.common.errors import ApplicationError
from apps.common.money import kwh
from apps.ledger.selectors import commission_terms_for
from apps.ledger.services import platform_organisation
from apps.swaps import selectors
from apps.swaps.models import LineKind, LineStage, OrderLine, SwapOrder

ZERO = Decimal(0)


@dataclass(frozen=True)
class PricedSwap:
    bill: pricing.Bill
    organisations: dict[str, Organisation]  # pricing's beneficiary keys → organisations

    @property
    def total_fen(self) -> int:
        return self.bill.total_fen

    def shares(self) -> dict[Organisation, int]:
        return {self.organisations[key]: amount for key, amount in self.bill.shares().items()}

    def commissions(self) -> dict[Organisation, int]:
        paid: dict[Organisation, int] = {}
        for line in self.bill.commissions:
            if line.amount_fen:
                earner = self.organisations[line.earner]
                paid[earner] = paid.get(earner, 0) + line.amount_fen
        return paid


def swap_price(
    *,
    station: Station,
    at: datetime,
    delivered: Battery,
    delivered_kwh: Decimal,
    returned: Battery | None,
    returned_kwh: Decimal,
    with_commission: bool = True,
) -> PricedSwap:
    """Price handing out ``delivered`` with ``delivered_kwh`` for ``returned`` with ``returned_kwh``
    at ``at``. Refuses with the billing module's codes (``tariff_missing``, ``calendar_missing``,
    ``returned_energy_exceeds_delivered``, ...).

    ``with_commission=False`` (a quote) leaves the platform's commission out: it comes out of the
    earners' shares and never changes what the driver pays, so the quote's total is the same; the
    bill shows it ("of which, platform commission")."""
    operator = station.operator
    organisations = {str(operator.pk): operator}
    platform_key = "platform"
    if with_commission:
        platform = platform_organisation()
        platform_key = str(platform.pk)
        organisations[platform_key] = platform
    earners = [operator]
    returned_battery = None
    left_vehicle_at, handed_out = selectors.custody_marks(delivered=delivered, returned=returned)
    if returned is not None:
        trip = max(handed_out - kwh(returned_kwh), ZERO) if handed_out is not None else ZERO
        owner = returned.owner
        organisations[str(owner.pk)] = owner
        earners.append(owner)
        returned_battery = pricing.ReturnedBattery(
            code=returned.code,
            owner=str(owner.pk),
            trip_kwh=trip,
            rate=selectors.battery_rate(battery=returned, at=at),
        )
    commissions = {}
    for earner in earners if with_commission else []:
        terms = commission_terms_for(organisation=earner, at=at)
        if terms is not None:
            commissions[str(earner.pk)] = terms
    bill_input = pricing.BillInput(
        delivered_kwh=kwh(delivered_kwh),
        returned_kwh=kwh(returned_kwh),
        swap_at=at,
        intervals=billing_selectors.charging_since(battery=delivered, since=left_vehicle_at, until=at),
        calendar=billing_selectors.calendar_for_zone(zone=station.tariff_zone),
        prices=billing_selectors.station_prices(station=station, at=at),
        operator=str(operator.pk),
        platform=platform_key,
        returned_battery=returned_battery,
        commissions=commissions,
    )
    try:
        bill = pricing.price_bill(bill_input)
    except pricing.BillingError as error:
        raise ApplicationError(error.code, error.message, status_code=409) from None
    return PricedSwap(bill=bill, organisations=organisations)


def lines_store(*, order: SwapOrder, stage: LineStage, priced: PricedSwap, fresh: bool = False) -> list[OrderLine]:
    """Replace the order's lines of ``stage`` with the priced swap's, commission lines last
    (``fresh``: the order has none yet)."""
    if not fresh:
        OrderLine.objects.filter(order=order, stage=stage).delete()
    rows = [
        OrderLine(
            order=order,
            stage=stage,
            position=position,
            kind=LineKind(line.kind.value),
            beneficiary=priced.organisations[line.beneficiary],
            period=line.period.value if line.period else "",
            kwh=line.kwh,
            unit_price=line.unit_price,
            amount_fen=line.amount_fen,
        )
        for position, line in enumerate(priced.bill.lines, start=1)
    ]
    first = len(rows) + 1
    rows += [
        OrderLine(
            order=order,
            stage=stage,
            position=first + index,
            kind=LineKind.COMMISSION,
            beneficiary=priced.organisations[line.beneficiary],
            earner=priced.organisations[line.earner],
            base_fen=line.share_fen,
            unit_price=line.rate,
            amount_fen=line.amount_fen,
        )
        for index, line in enumerate(priced.bill.commissions)
    ]
    return OrderLine.objects.bulk_create(rows)
