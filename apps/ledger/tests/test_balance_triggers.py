"""The database's own balance check (migrations 0002 and 0003), on PostgreSQL, in top-level
database transactions that really commit: an entry whose journal transaction was inserted by the
same transaction is checked once with that journal transaction; an entry added to one committed
before is checked on its own. Either way an unbalanced journal transaction cannot be committed,
even from raw SQL, and a balanced one can, whatever the order of its rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.accounts.models import OrganisationKind
from apps.accounts.tests.factories import OrganisationFactory
from apps.ledger import services
from apps.ledger.models import Account, AccountPurpose, JournalTransaction
from apps.ledger.tests.factories import ledger_snapshot

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def _accounts() -> tuple[Account, Account]:
    organisation = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    first = services.account_get(organisation=organisation, purpose=AccountPurpose.RECEIVABLE)
    second = services.account_get(organisation=organisation, purpose=AccountPurpose.REVENUE)
    return first, second


def _journal_transaction(cursor, external_id: str) -> int:
    now = timezone.now()
    cursor.execute(
        "INSERT INTO ledger_journaltransaction"
        " (created_at, updated_at, external_id, movement_type, request_hash, reference, memo)"
        " VALUES (%s, %s, %s, 'adjustment', '', '', '') RETURNING id",
        [now, now, external_id],
    )
    return cursor.fetchone()[0]


def _commit(writes: Callable[[Any], Any]) -> Any:
    """Run the raw writes in a top-level database transaction and commit it."""
    with transaction.atomic(), connection.cursor() as cursor:
        return writes(cursor)


def _entry(cursor, transaction_id: int, account_id: int, amount: int) -> None:
    now = timezone.now()
    cursor.execute(
        "INSERT INTO ledger_entry (created_at, updated_at, journal_transaction_id, account_id, amount_fen, movement_type)"
        " VALUES (%s, %s, %s, %s, %s, 'adjustment')",
        [now, now, transaction_id, account_id, amount],
    )


@pytest.mark.parametrize(
    "amounts",
    [[100, -99], [100], [], [100, -100, 1]],
    ids=["unbalanced", "one-entry", "no-entries", "three-unbalanced"],
)
def test_an_unbalanced_transaction_is_refused_at_commit(amounts: list[int]) -> None:
    first, second = _accounts()
    before = ledger_snapshot()

    def writes(cursor: Any) -> None:
        transaction_id = _journal_transaction(cursor, "raw")
        for index, amount in enumerate(amounts):
            _entry(cursor, transaction_id, (first, second)[index % 2].pk, amount)

    with pytest.raises(IntegrityError, match="ledger_transaction_unbalanced"):
        _commit(writes)
    assert ledger_snapshot() == before
    assert not JournalTransaction.objects.filter(external_id="raw").exists()


def test_a_balanced_transaction_commits_entry_by_entry() -> None:
    first, second = _accounts()
    with transaction.atomic(), connection.cursor() as cursor:
        transaction_id = _journal_transaction(cursor, "raw")
        _entry(cursor, transaction_id, first.pk, 100)
        _entry(cursor, transaction_id, second.pk, -60)
        _entry(cursor, transaction_id, second.pk, -40)
    assert JournalTransaction.objects.get(external_id="raw").entries.count() == 3


def test_an_entry_added_to_a_committed_transaction_is_checked_on_its_own() -> None:
    first, second = _accounts()
    with transaction.atomic(), connection.cursor() as cursor:
        transaction_id = _journal_transaction(cursor, "raw")
        _entry(cursor, transaction_id, first.pk, 100)
        _entry(cursor, transaction_id, second.pk, -100)
    before = ledger_snapshot()
    # One more entry, in a later transaction: unbalanced, refused.
    with pytest.raises(IntegrityError, match="ledger_transaction_unbalanced"):
        _commit(lambda cursor: _entry(cursor, transaction_id, first.pk, 5))
    # Two more that balance each other: accepted (the journal transaction still sums to zero).
    with transaction.atomic(), connection.cursor() as cursor:
        _entry(cursor, transaction_id, first.pk, 5)
        _entry(cursor, transaction_id, second.pk, -5)
    assert JournalTransaction.objects.get(pk=transaction_id).entries.count() == 4
    assert ledger_snapshot() != before


def test_entries_from_a_subtransaction_are_checked_too() -> None:
    """The journal transaction inserted in a savepoint (a subtransaction: its rows' xmin is not
    the top-level transaction's), its entries in another one: still refused at commit."""
    first, second = _accounts()
    before = ledger_snapshot()

    def in_savepoints() -> None:
        with transaction.atomic():
            with transaction.atomic(), connection.cursor() as cursor:
                transaction_id = _journal_transaction(cursor, "raw")
            with transaction.atomic(), connection.cursor() as cursor:
                _entry(cursor, transaction_id, first.pk, 100)
                _entry(cursor, transaction_id, second.pk, -1)

    with pytest.raises(IntegrityError, match="ledger_transaction_unbalanced"):
        in_savepoints()
    assert ledger_snapshot() == before


def test_a_posting_through_the_services_commits_and_balances() -> None:
    first, second = _accounts()
    posted = services.journal_post(
        external_id="service", movement_type="adjustment", legs=[services.Leg(first, 70), services.Leg(second, -70)]
    )
    assert sorted(posted.entries.values_list("amount_fen", flat=True)) == [-70, 70]
