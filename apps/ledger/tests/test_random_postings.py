"""RELIABILITY.md #5: 100,000 random postings; every transaction sums to 0, total debits equal
total credits, and an unbalanced transaction is refused (by the database itself on PostgreSQL,
even from raw SQL)."""

from __future__ import annotations

import random

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from apps.accounts.models import OrganisationKind
from apps.accounts.tests.factories import OrganisationFactory
from apps.common.errors import ApplicationError
from apps.ledger import services
from apps.ledger.models import Account, AccountPurpose, Entry, JournalTransaction, MovementType
from apps.ledger.services import Leg, Transfer
from apps.ledger.tests.factories import assert_ledger_invariants, ledger_snapshot

ON_POSTGRESQL = connection.vendor == "postgresql"

POSTINGS = 100_000
BATCH = 1_000
SEED = 20_260_505
# Accounts without a floor, so that no random posting is refused for want of money.
PURPOSES = [
    AccountPurpose.RECEIVABLE,
    AccountPurpose.PAYABLE,
    AccountPurpose.REVENUE,
    AccountPurpose.PLATFORM_COMMISSION,
    AccountPurpose.PROVIDER_CLEARING,
]


def random_legs(rng: random.Random, accounts: list[Account]) -> list[Leg]:
    chosen = rng.sample(accounts, rng.randint(2, 4))
    amounts = [rng.choice([-1, 1]) * rng.randint(1, 1_000_000) for _ in chosen[:-1]]
    last = -sum(amounts)
    if last == 0:  # the legs so far cancel out: move one fen between the first two
        amounts[0] += 1
        last = -1
    return [Leg(account, amount) for account, amount in zip(chosen, [*amounts, last], strict=True)]


# Each batch is its own database transaction: on PostgreSQL it commits, so the database checks
# every journal transaction at each commit. (In one test-long transaction the accounts' row
# versions pile up until the end; on SQLite, which has no such check, that costs nothing.)
@pytest.mark.django_db(transaction=ON_POSTGRESQL)
def test_a_hundred_thousand_random_postings_all_balance() -> None:
    rng = random.Random(SEED)
    organisations = [OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR) for _ in range(20)]
    accounts = [services.account_get(organisation=org, purpose=purpose) for org in organisations for purpose in PURPOSES]
    kinds = [MovementType.SWAP_INCOME, MovementType.COMMISSION, MovementType.ADJUSTMENT, MovementType.TOP_UP]

    for batch in range(POSTINGS // BATCH):
        services.journal_post_many(
            transfers=[Transfer(f"random-{batch}-{n}", rng.choice(kinds), random_legs(rng, accounts)) for n in range(BATCH)]
        )

    assert JournalTransaction.objects.count() == POSTINGS
    per_transaction = Entry.objects.values("journal_transaction_id").annotate(total=Sum("amount_fen"), n=Count("id"))
    assert not per_transaction.filter(~Q(total=0) | Q(n__lt=2)).exists()
    totals = Entry.objects.aggregate(
        debits=Sum("amount_fen", filter=Q(amount_fen__lt=0)), credits=Sum("amount_fen", filter=Q(amount_fen__gt=0))
    )
    assert totals["credits"] > 0
    assert -totals["debits"] == totals["credits"]
    assert_ledger_invariants()


def _raw_transaction(cursor, external_id: str, amounts: list[tuple[int, int]]) -> None:
    now = timezone.now()
    cursor.execute(
        "INSERT INTO ledger_journaltransaction"
        " (created_at, updated_at, external_id, movement_type, request_hash, reference, memo)"
        " VALUES (%s, %s, %s, 'adjustment', '', '', '') RETURNING id",
        [now, now, external_id],
    )
    transaction_id = cursor.fetchone()[0]
    for account_id, amount in amounts:
        cursor.execute(
            "INSERT INTO ledger_entry (created_at, updated_at, journal_transaction_id, account_id, amount_fen, movement_type)"
            " VALUES (%s, %s, %s, %s, %s, 'adjustment')",
            [now, now, transaction_id, account_id, amount],
        )


@pytest.mark.django_db
def test_an_unbalanced_transaction_is_refused() -> None:
    organisation = OrganisationFactory(kind=OrganisationKind.STATION_OPERATOR)
    first = services.account_get(organisation=organisation, purpose=AccountPurpose.RECEIVABLE)
    second = services.account_get(organisation=organisation, purpose=AccountPurpose.REVENUE)
    before = ledger_snapshot()

    if ON_POSTGRESQL:
        # The constraint triggers run at commit; SET CONSTRAINTS ALL IMMEDIATE runs them now,
        # inside the test's transaction.
        for external_id, amounts in [
            ("raw-unbalanced", [(first.pk, 100), (second.pk, -99)]),
            ("raw-one-entry", [(first.pk, 100)]),
            ("raw-no-entries", []),
        ]:
            with transaction.atomic(), connection.cursor() as cursor:
                _raw_transaction(cursor, external_id, amounts)
                with pytest.raises(IntegrityError, match="ledger_transaction_unbalanced"):
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                transaction.set_rollback(True)
        # A balanced raw insert passes the same check.
        with transaction.atomic(), connection.cursor() as cursor:
            _raw_transaction(cursor, "raw-balanced", [(first.pk, 100), (second.pk, -100)])
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        assert JournalTransaction.objects.filter(external_id__startswith="raw-").count() == 1
    else:
        # SQLite has no deferred triggers: the posting service is the check.
        with pytest.raises(ApplicationError) as refused:
            services.journal_post(
                external_id="unbalanced", movement_type=MovementType.ADJUSTMENT, legs=[Leg(first, 100), Leg(second, -99)]
            )
        assert refused.value.code == "posting_invalid"
        assert ledger_snapshot() == before
