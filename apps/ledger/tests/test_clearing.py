"""Clearing an order to its earners; refunds and corrected bills by reversal."""

from __future__ import annotations

import pytest

from apps.accounts.models import OrganisationKind
from apps.accounts.tests.factories import OrganisationFactory
from apps.common.errors import ApplicationError
from apps.ledger import services
from apps.ledger.models import AccountPurpose, DebtStatus, Entry, HoldStatus, MovementType
from apps.ledger.tests.factories import (
    Parties,
    assert_ledger_invariants,
    balance,
    held,
    ledger_snapshot,
    parties,
    top_up,
    wallet,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> Parties:
    return parties()


def shares(world: Parties) -> dict:
    # The worked example of apps/billing/tests/test_pricing.py: 29,457 fen, of which commission
    # 1,156 (operator) + 190 (owner) to the platform.
    return {world.operator: 21_956, world.owner: 6_155, world.platform: 1_346}


def commissions(world: Parties) -> dict:
    return {world.operator: 1_156, world.owner: 190}


def clear(world: Parties, *, hold=None, external_id: str = "order-1:clear", **options) -> services.Payment:
    return services.order_clear(
        external_id=external_id,
        payer=world.carrier,
        bill_shares=shares(world),
        hold=hold,
        commissions=commissions(world),
        reference="order-1",
        **options,
    )


def test_an_order_is_cleared_from_its_hold_to_its_earners_in_one_transaction(world: Parties) -> None:
    top_up(world.carrier, 40_000)
    hold = services.hold_place(external_id="order-1:hold", payer=world.carrier, amount_fen=35_000)

    payment = clear(world, hold=hold)

    assert (wallet(world.carrier), held(world.carrier)) == (40_000 - 29_457, 0)
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 21_956
    assert balance(world.owner, AccountPurpose.RECEIVABLE) == 6_155
    assert balance(world.platform, AccountPurpose.PLATFORM_COMMISSION) == 1_346
    hold.refresh_from_db()
    assert (hold.status, hold.captured_fen, hold.released_fen) == (HoldStatus.CAPTURED, 29_457, 5_543)
    lines = sorted(payment.transaction.entries.values_list("account__organisation_id", "movement_type", "amount_fen"))
    assert lines == sorted(
        [
            (world.carrier.pk, MovementType.SWAP_EXPENSE, -29_457),
            (world.operator.pk, MovementType.SWAP_INCOME, 23_112),
            (world.operator.pk, MovementType.COMMISSION, -1_156),
            (world.owner.pk, MovementType.SWAP_INCOME, 6_345),
            (world.owner.pk, MovementType.COMMISSION, -190),
            (world.platform.pk, MovementType.COMMISSION, 1_346),
        ]
    )
    assert payment.transaction.reference == "order-1"
    assert_ledger_invariants()


def test_a_cleared_order_replayed_returns_the_first_clearing(world: Parties) -> None:
    top_up(world.carrier, 40_000)
    hold = services.hold_place(external_id="order-1:hold", payer=world.carrier, amount_fen=35_000)
    first = clear(world, hold=hold)
    before = ledger_snapshot()

    again = clear(world, hold=hold)

    assert (again.transaction.pk, again.hold.pk) == (first.transaction.pk, hold.pk)
    assert ledger_snapshot() == before


def test_a_cleared_order_replayed_with_other_shares_is_a_conflict(world: Parties) -> None:
    top_up(world.carrier, 40_000)
    clear(world)
    before = ledger_snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.order_clear(
            external_id="order-1:clear", payer=world.carrier, bill_shares={world.operator: 1}, reference="order-1"
        )
    assert refused.value.code == "transfer_id_conflict"
    assert ledger_snapshot() == before


def test_without_a_breakdown_the_platform_share_is_its_commission(world: Parties) -> None:
    top_up(world.carrier, 1_000)
    services.order_clear(external_id="o", payer=world.carrier, bill_shares={world.operator: 900, world.platform: 100})
    assert balance(world.platform, AccountPurpose.PLATFORM_COMMISSION) == 100
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 900


def test_lines_the_platform_earns_itself_are_its_revenue(world: Parties) -> None:
    top_up(world.carrier, 1_000)
    services.order_clear(
        external_id="o",
        payer=world.carrier,
        bill_shares={world.operator: 850, world.platform: 150},
        commissions={world.operator: 50},
    )
    assert balance(world.platform, AccountPurpose.PLATFORM_COMMISSION) == 50
    assert balance(world.platform, AccountPurpose.REVENUE) == 100
    assert_ledger_invariants()


@pytest.mark.parametrize(
    "bad",
    [
        {"bill_shares": {"payer": 100}},
        {"bill_shares": {"operator": -1}},
        {"bill_shares": {"operator": 1.5}},
        {"bill_shares": {"operator": 100}, "commissions": {"operator": 10}},  # no platform to receive it
        {"bill_shares": {"operator": 100, "platform": 5}, "commissions": {"operator": 10}},
        {"bill_shares": {"operator": 100, "platform": 5, "other_platform": 5}},
    ],
)
def test_a_malformed_bill_is_refused_and_changes_nothing(world: Parties, bad: dict) -> None:
    top_up(world.carrier, 1_000)
    named = {
        "payer": world.carrier,
        "operator": world.operator,
        "platform": world.platform,
        "other_platform": OrganisationFactory(kind=OrganisationKind.PLATFORM),
    }
    before = ledger_snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.order_clear(
            external_id="o",
            payer=world.carrier,
            bill_shares={named[key]: fen for key, fen in bad["bill_shares"].items()},
            commissions={named[key]: fen for key, fen in bad.get("commissions", {}).items()},
        )
    assert refused.value.code == "posting_invalid"
    assert ledger_snapshot() == before


# --- Refunds and corrections ------------------------------------------------------------
def test_a_refund_reverses_the_bill_back_to_the_wallet(world: Parties) -> None:
    top_up(world.carrier, 40_000)
    hold = services.hold_place(external_id="order-1:hold", payer=world.carrier, amount_fen=35_000)
    cleared = clear(world, hold=hold).transaction

    refund = services.order_refund(external_id="order-1:refund", payer=world.carrier, original=cleared)

    assert refund.reversal.reverses_id == cleared.pk
    assert refund.correction is None
    assert (wallet(world.carrier), held(world.carrier)) == (40_000, 0)
    for party, purpose in [
        (world.operator, AccountPurpose.RECEIVABLE),
        (world.owner, AccountPurpose.RECEIVABLE),
        (world.platform, AccountPurpose.PLATFORM_COMMISSION),
    ]:
        assert balance(party, purpose) == 0
    assert set(refund.reversal.entries.values_list("movement_type", flat=True)) == {MovementType.REFUND}
    assert services.order_refund(external_id="order-1:refund", payer=world.carrier, original=cleared).reversal.pk == (
        refund.reversal.pk
    )
    assert_ledger_invariants()


def test_a_corrected_bill_is_a_reversal_plus_a_new_posting(world: Parties) -> None:
    top_up(world.carrier, 40_000)
    cleared = clear(world).transaction

    refund = services.order_refund(
        external_id="order-1:correct",
        payer=world.carrier,
        original=cleared,
        corrected_shares={world.operator: 20_000, world.owner: 6_000, world.platform: 1_200},
        corrected_commissions={world.operator: 1_000, world.owner: 200},
    )

    assert refund.correction is not None
    assert refund.correction.transaction is not None
    assert wallet(world.carrier) == 40_000 - 27_200
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 20_000
    assert balance(world.owner, AccountPurpose.RECEIVABLE) == 6_000
    assert balance(world.platform, AccountPurpose.PLATFORM_COMMISSION) == 1_200
    assert_ledger_invariants()
    # The same id asking for another correction is a conflict, not a second correction.
    with pytest.raises(ApplicationError) as refused:
        services.order_refund(
            external_id="order-1:correct", payer=world.carrier, original=cleared, corrected_shares={world.operator: 1}
        )
    assert refused.value.code == "transfer_id_conflict"


def test_refunding_a_bill_with_an_outstanding_debt_cancels_the_debt(world: Parties) -> None:
    top_up(world.carrier, 1_000)
    payment = services.order_clear(external_id="o", payer=world.carrier, bill_shares={world.operator: 1_500})
    assert payment.debt is not None

    services.order_refund(external_id="o:refund", payer=world.carrier, original=payment.transaction)

    payment.debt.refresh_from_db()
    assert payment.debt.status == DebtStatus.CANCELLED
    assert (wallet(world.carrier), balance(world.carrier, AccountPurpose.PAYABLE)) == (1_000, 0)
    assert services.hold_place(external_id="next", payer=world.carrier, amount_fen=1_000).status == HoldStatus.PENDING
    assert_ledger_invariants()


def test_refunding_a_bill_whose_debt_was_paid_returns_all_of_it_to_the_wallet(world: Parties) -> None:
    top_up(world.carrier, 1_000)
    payment = services.order_clear(external_id="o", payer=world.carrier, bill_shares={world.operator: 1_500})
    top_up(world.carrier, 2_000)
    services.debt_pay(debt=payment.debt, external_id="o:debt-paid")

    services.order_refund(external_id="o:refund", payer=world.carrier, original=payment.transaction)

    assert (wallet(world.carrier), balance(world.carrier, AccountPurpose.PAYABLE)) == (3_000, 0)
    assert balance(world.operator, AccountPurpose.RECEIVABLE) == 0
    assert_ledger_invariants()


def test_only_a_bill_the_payer_paid_is_refunded(world: Parties) -> None:
    top_up(world.carrier, 1_000)
    other = OrganisationFactory(kind=OrganisationKind.CARRIER)
    payment = services.order_clear(external_id="o", payer=world.carrier, bill_shares={world.operator: 500})
    with pytest.raises(ApplicationError) as refused:
        services.order_refund(external_id="o:refund", payer=other, original=payment.transaction)
    assert refused.value.code == "posting_invalid"
    assert Entry.objects.filter(movement_type=MovementType.REFUND).count() == 0
