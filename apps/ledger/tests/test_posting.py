"""Posting journal transactions: balance, floors, idempotency (RELIABILITY.md #7) and
immutability (#6)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.db.models.deletion import ProtectedError

from apps.access import Actor
from apps.common.errors import ApplicationError
from apps.ledger import services
from apps.ledger.models import AccountPurpose, Entry, JournalTransaction, MovementType
from apps.ledger.services import Leg
from apps.ledger.tests.factories import (
    Parties,
    account,
    assert_ledger_invariants,
    ledger_snapshot,
    new_id,
    parties,
    top_up,
    wallet,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> Parties:
    return parties()


def test_a_top_up_moves_money_from_provider_clearing_to_the_wallet(world: Parties) -> None:
    posted = top_up(world.carrier, 10_000)

    assert posted.movement_type == MovementType.TOP_UP
    assert sorted(posted.entries.values_list("amount_fen", flat=True)) == [-10_000, 10_000]
    assert wallet(world.carrier) == 10_000
    assert account(world.platform, AccountPurpose.PROVIDER_CLEARING).balance_fen == -10_000
    assert_ledger_invariants()


@pytest.mark.parametrize(
    ("amounts", "why"),
    [
        ([100, -99], "do not sum to zero"),
        ([100], "at least two entries"),
        ([100, 0, -100], "non-zero integer"),
        ([Decimal(100), Decimal(-100)], "non-zero integer"),
        ([100.0, -100.0], "non-zero integer"),
        ([True, -1], "non-zero integer"),
    ],
)
def test_an_unbalanced_or_non_integer_posting_is_refused_and_changes_nothing(world: Parties, amounts, why: str) -> None:
    top_up(world.carrier, 1_000)
    accounts = [account(world.carrier, AccountPurpose.WALLET), account(world.operator, AccountPurpose.RECEIVABLE)]
    accounts.append(account(world.owner, AccountPurpose.RECEIVABLE))
    before = ledger_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.journal_post(
            external_id=new_id(),
            movement_type=MovementType.ADJUSTMENT,
            legs=[Leg(accounts[index], amount) for index, amount in enumerate(amounts)],
        )

    assert refused.value.code == "posting_invalid"
    assert why in refused.value.message
    assert ledger_snapshot() == before


def test_a_debit_below_the_wallet_floor_is_insufficient_funds_and_changes_nothing(world: Parties) -> None:
    top_up(world.carrier, 500)
    legs = [Leg(account(world.carrier, AccountPurpose.WALLET), -501), Leg(account(world.platform, AccountPurpose.REVENUE), 501)]
    before = ledger_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.journal_post(external_id=new_id(), movement_type=MovementType.ADJUSTMENT, legs=legs)

    assert (refused.value.code, refused.value.status_code) == ("insufficient_funds", 402)
    assert ledger_snapshot() == before


def test_a_credit_line_lets_the_wallet_go_down_to_minus_the_line(world: Parties) -> None:
    platform_admin = Actor(user_id=1, platform_admin=True)
    services.wallet_credit_line_set(actor=platform_admin, organisation=world.carrier, credit_line_fen=2_000)
    legs = [
        Leg(account(world.carrier, AccountPurpose.WALLET), -2_000),
        Leg(account(world.platform, AccountPurpose.REVENUE), 2_000),
    ]

    services.journal_post(external_id=new_id(), movement_type=MovementType.ADJUSTMENT, legs=legs)

    assert wallet(world.carrier) == -2_000
    with pytest.raises(ApplicationError) as refused:
        services.journal_post(
            external_id=new_id(), movement_type=MovementType.ADJUSTMENT, legs=[Leg(legs[0].account, -1), Leg(legs[1].account, 1)]
        )
    assert refused.value.code == "insufficient_funds"
    with pytest.raises(ApplicationError) as in_use:
        services.wallet_credit_line_set(actor=platform_admin, organisation=world.carrier, credit_line_fen=1_999)
    assert in_use.value.code == "credit_line_in_use"
    assert account(world.carrier, AccountPurpose.WALLET).floor_fen == -2_000
    assert_ledger_invariants()


def test_only_the_platform_sets_a_credit_line(world: Parties) -> None:
    with pytest.raises(ApplicationError) as refused:
        services.wallet_credit_line_set(
            actor=Actor(user_id=1, carrier_admin_of=frozenset({world.carrier.pk})), organisation=world.carrier, credit_line_fen=1
        )
    assert refused.value.status_code == 403


def test_the_database_refuses_a_balance_below_the_floor_even_without_the_service(world: Parties) -> None:
    top_up(world.carrier, 100)
    wallet_account = account(world.carrier, AccountPurpose.WALLET)

    with pytest.raises(IntegrityError), transaction.atomic():
        type(wallet_account).objects.filter(pk=wallet_account.pk).update(balance_fen=-1)

    assert wallet(world.carrier) == 100


# --- RELIABILITY.md #7: the same transfer id 1,000 times --------------------------------
def test_the_same_transfer_id_a_thousand_times_posts_one_transaction(world: Parties) -> None:
    clearing = account(world.platform, AccountPurpose.PROVIDER_CLEARING)
    wallet_account = account(world.carrier, AccountPurpose.WALLET)
    legs = [Leg(clearing, -3_000), Leg(wallet_account, 3_000)]

    results = {
        services.journal_post(external_id="top-up-1", movement_type=MovementType.TOP_UP, legs=legs).pk for _ in range(1_000)
    }

    assert len(results) == 1
    assert JournalTransaction.objects.filter(external_id="top-up-1").count() == 1
    assert Entry.objects.count() == 2
    assert wallet(world.carrier) == 3_000
    assert_ledger_invariants()


def test_the_same_transfer_id_with_another_amount_is_a_conflict_and_changes_nothing(world: Parties) -> None:
    clearing = account(world.platform, AccountPurpose.PROVIDER_CLEARING)
    wallet_account = account(world.carrier, AccountPurpose.WALLET)
    services.journal_post(
        external_id="top-up-1", movement_type=MovementType.TOP_UP, legs=[Leg(clearing, -3_000), Leg(wallet_account, 3_000)]
    )
    before = ledger_snapshot()

    with pytest.raises(ApplicationError) as conflict:
        services.journal_post(
            external_id="top-up-1", movement_type=MovementType.TOP_UP, legs=[Leg(clearing, -3_001), Leg(wallet_account, 3_001)]
        )

    assert (conflict.value.code, conflict.value.status_code) == ("transfer_id_conflict", 409)
    assert ledger_snapshot() == before


def test_the_same_transfer_id_with_legs_in_another_order_is_the_same_transfer(world: Parties) -> None:
    clearing = account(world.platform, AccountPurpose.PROVIDER_CLEARING)
    wallet_account = account(world.carrier, AccountPurpose.WALLET)
    first = services.journal_post(
        external_id="t", movement_type=MovementType.TOP_UP, legs=[Leg(clearing, -5), Leg(wallet_account, 5)]
    )
    again = services.journal_post(
        external_id="t", movement_type=MovementType.TOP_UP, legs=[Leg(wallet_account, 5), Leg(clearing, -5)]
    )
    assert again.pk == first.pk


def test_a_batch_with_one_refused_transfer_posts_none(world: Parties) -> None:
    top_up(world.carrier, 100)
    wallet_account = account(world.carrier, AccountPurpose.WALLET)
    revenue = account(world.platform, AccountPurpose.REVENUE)
    before = ledger_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.journal_post_many(
            transfers=[
                services.Transfer(new_id(), MovementType.ADJUSTMENT, [Leg(wallet_account, -60), Leg(revenue, 60)]),
                services.Transfer(new_id(), MovementType.ADJUSTMENT, [Leg(wallet_account, -60), Leg(revenue, 60)]),
            ]
        )

    assert refused.value.code == "insufficient_funds"
    assert ledger_snapshot() == before


# --- RELIABILITY.md #6: posted entries cannot change ------------------------------------
@pytest.fixture
def posted(world: Parties) -> JournalTransaction:
    return top_up(world.carrier, 1_000)


def test_an_entry_saved_again_through_the_orm_is_refused(posted: JournalTransaction) -> None:
    entry = posted.entries.first()
    entry.amount_fen += 1
    with pytest.raises(IntegrityError), transaction.atomic():
        entry.save()
    assert sorted(posted.entries.values_list("amount_fen", flat=True)) == [-1_000, 1_000]


def test_an_entry_updated_through_a_queryset_is_refused(posted: JournalTransaction) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.filter(journal_transaction=posted).update(amount_fen=7)
    assert sorted(posted.entries.values_list("amount_fen", flat=True)) == [-1_000, 1_000]


def test_an_entry_deleted_through_the_orm_is_refused(posted: JournalTransaction) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        posted.entries.first().delete()
    assert posted.entries.count() == 2


def test_a_journal_transaction_deleted_through_the_orm_is_refused(posted: JournalTransaction) -> None:
    with pytest.raises(ProtectedError), transaction.atomic():
        posted.delete()
    assert JournalTransaction.objects.filter(pk=posted.pk).exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET amount_fen = amount_fen * 2 WHERE journal_transaction_id = %s",
        "DELETE FROM ledger_entry WHERE journal_transaction_id = %s",
        "UPDATE ledger_journaltransaction SET external_id = 'changed' WHERE id = %s",
        "DELETE FROM ledger_journaltransaction WHERE id = %s",
    ],
)
def test_posted_rows_changed_by_raw_sql_are_refused(posted: JournalTransaction, statement: str) -> None:
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [posted.pk])
    posted.refresh_from_db()
    assert posted.external_id != "changed"
    assert sorted(posted.entries.values_list("amount_fen", flat=True)) == [-1_000, 1_000]


def test_a_reversal_nets_the_original_to_zero(world: Parties, posted: JournalTransaction) -> None:
    reversal = services.transaction_reverse(original=posted, external_id="reverse-1")

    assert reversal.reverses_id == posted.pk
    assert reversal.movement_type == MovementType.REFUND
    both = Entry.objects.filter(journal_transaction__in=[posted, reversal])
    per_account = both.values("account_id").annotate(total=Sum("amount_fen"))
    assert {row["total"] for row in per_account} == {0}
    assert wallet(world.carrier) == 0
    assert_ledger_invariants()


def test_a_transaction_is_reversed_once(posted: JournalTransaction) -> None:
    first = services.transaction_reverse(original=posted, external_id="reverse-1")
    assert services.transaction_reverse(original=posted, external_id="reverse-1").pk == first.pk
    before = ledger_snapshot()

    with pytest.raises(ApplicationError) as refused:
        services.transaction_reverse(original=posted, external_id="reverse-2")
    assert refused.value.code == "transaction_already_reversed"
    with pytest.raises(ApplicationError) as not_reversible:
        services.transaction_reverse(original=first, external_id="reverse-3")
    assert not_reversible.value.code == "transaction_not_reversible"
    assert ledger_snapshot() == before


def test_reversing_a_top_up_already_spent_is_insufficient_funds(world: Parties, posted: JournalTransaction) -> None:
    services.hold_place(external_id="hold", payer=world.carrier, amount_fen=1)
    before = ledger_snapshot()
    with pytest.raises(ApplicationError) as refused:
        services.transaction_reverse(original=posted, external_id="reverse-1")
    assert refused.value.code == "insufficient_funds"
    assert ledger_snapshot() == before


def test_energy_deposit_is_taken_from_and_released_to_the_wallet(world: Parties) -> None:
    top_up(world.carrier, 50_000)
    services.energy_deposit_take(external_id="deposit", payer=world.carrier, amount_fen=30_000)
    assert (wallet(world.carrier), account(world.carrier, AccountPurpose.ENERGY_DEPOSIT).balance_fen) == (20_000, 30_000)

    services.energy_deposit_release(external_id="deposit-back", payer=world.carrier, amount_fen=30_000)

    assert (wallet(world.carrier), account(world.carrier, AccountPurpose.ENERGY_DEPOSIT).balance_fen) == (50_000, 0)
    assert_ledger_invariants()
