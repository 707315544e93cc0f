"""RELIABILITY.md #9: 10,000 random bills, priced by ``apps.billing.pricing.price_bill`` and
cleared to their earners: the parties' shares sum to the bill exactly, every party receives
exactly its share, and where the rounding remainders go is deterministic (the same inputs give
the same shares and the same ledger rows)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from apps.accounts.models import Organisation, OrganisationKind
from apps.billing.calendars import corridor_calendar
from apps.billing.pricing import (
    Bill,
    BillInput,
    ChargingInterval,
    CommissionTerms,
    ReturnedBattery,
    StationPrices,
    price_bill,
)
from apps.billing.tou import LOCAL_TIME, Period
from apps.ledger import services
from apps.ledger.models import Account, AccountPurpose, Entry, MovementType
from apps.ledger.tests.factories import assert_ledger_invariants, organisation

BILLS = 10_000
SEED = 20_260_509
CALENDARS = [corridor_calendar("hebei_south"), corridor_calendar("shanxi")]


def fen_price(rng: random.Random, low: int, high: int) -> Decimal:
    """A price in CNY with four decimals, as tariffs are set."""
    return Decimal(rng.randint(low, high)) / 10_000


def random_bill_input(rng: random.Random, operators: list[str], owners: list[str]) -> BillInput:
    delivered = Decimal(rng.randint(20_000, 282_000)) / 1_000
    returned = Decimal(rng.randint(0, int(delivered * 1_000))) / 1_000
    swap_at = datetime(2026, 1, 1, tzinfo=LOCAL_TIME) + timedelta(minutes=rng.randint(0, 365 * 24 * 60))
    intervals = []
    for _ in range(rng.randint(0, 3)):
        start = swap_at - timedelta(minutes=rng.randint(30, 24 * 60))
        intervals.append(ChargingInterval(start, start + timedelta(minutes=rng.randint(5, 240)), Decimal(rng.randint(1, 300))))
    operator = rng.choice(operators)
    owner = rng.choice(owners)

    def terms() -> CommissionTerms:
        maximum = rng.choice([None, rng.randint(300, 5_000)])
        return CommissionTerms(rate=Decimal(rng.randint(0, 1_000)) / 10_000, min_fen=rng.randint(0, 200), max_fen=maximum)

    return BillInput(
        delivered_kwh=delivered,
        returned_kwh=returned,
        swap_at=swap_at,
        intervals=intervals,
        calendar=rng.choice(CALENDARS),
        prices=StationPrices(
            energy={period: fen_price(rng, 1_000, 14_000) for period in Period},
            service_per_kwh=fen_price(rng, 0, 8_000),
            service_per_swap=Decimal(rng.randint(0, 5_000)) / 100,
            min_billable_kwh=Decimal(rng.choice([0, 50, 100])),
        ),
        operator=operator,
        platform="platform",
        returned_battery=rng.choice(
            [None, ReturnedBattery("A", owner, trip_kwh=returned * rng.randint(50, 100) / 100, rate=fen_price(rng, 500, 6_000))]
        ),
        commissions={operator: terms(), owner: terms()},
    )


def paid_commissions(bill: Bill) -> dict[str, int]:
    return {line.earner: line.amount_fen for line in bill.commissions}


# Each clearing commits on PostgreSQL, as in production: in one test-long transaction the hot
# accounts' (the platform's, the operators') row versions would pile up until the end.
@pytest.mark.django_db(transaction=connection.vendor == "postgresql")
def test_ten_thousand_random_bills_clear_exactly_to_their_earners() -> None:
    rng = random.Random(SEED)
    orgs: dict[str, Organisation] = {"platform": organisation(OrganisationKind.PLATFORM)}
    operators = [f"operator-{n}" for n in range(3)]
    owners = [f"owner-{n}" for n in range(3)]
    for code in operators:
        orgs[code] = organisation(OrganisationKind.STATION_OPERATOR, code=code)
    for code in owners:
        orgs[code] = organisation(OrganisationKind.BATTERY_OWNER, code=code)
    payers = [organisation(OrganisationKind.CARRIER) for _ in range(10)]
    for payer in payers:
        services.wallet_top_up(external_id=f"top-up-{payer.pk}", payer=payer, amount_fen=10**12)

    expected: Counter[str] = Counter()
    bills: dict[str, int] = {}
    for number in range(BILLS):
        bill_input = random_bill_input(rng, operators, owners)
        bill = price_bill(bill_input)
        shares = bill.shares()
        # The parties' shares sum to the bill exactly, and pricing again places every remainder
        # where it did the first time.
        assert sum(shares.values()) == bill.total_fen
        assert all(amount >= 0 for amount in shares.values())
        again = price_bill(bill_input)
        assert (again.shares(), again.commissions) == (shares, bill.commissions)
        if bill.total_fen == 0:
            continue
        services.order_clear(
            external_id=f"order-{number}",
            payer=payers[number % len(payers)],
            bill_shares={orgs[code]: amount for code, amount in shares.items()},
            commissions={orgs[code]: amount for code, amount in paid_commissions(bill).items()},
        )
        expected.update(shares)
        bills[f"order-{number}"] = bill.total_fen

    def received(code: str) -> int:
        earnings = Account.objects.filter(organisation=orgs[code]).exclude(purpose=AccountPurpose.PROVIDER_CLEARING)
        return int(earnings.aggregate(total=Sum("balance_fen"))["total"] or 0)

    assert {code: received(code) for code in expected} == dict(expected)
    # Each bill was taken from its payer exactly, and (each transaction summing to zero) paid out exactly.
    paid = (
        Entry.objects.filter(movement_type=MovementType.SWAP_EXPENSE)
        .values_list("journal_transaction__external_id")
        .annotate(total=Sum("amount_fen"))
    )
    assert {external_id: -total for external_id, total in paid} == bills
    assert sum(bills.values()) == sum(expected.values())
    assert_ledger_invariants()
