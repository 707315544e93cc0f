"""RELIABILITY.md #8: 1,000 concurrent 100-fen debits on a 50,000-fen wallet. Exactly 500
succeed, the wallet ends at 0 and is never negative, and no debit is posted twice although
every one is sent twice, by two different threads.

On PostgreSQL the debits race for real: 16 threads, each with its own database connection,
committing as they go. SQLite has no row locks to race on (``select_for_update`` is a no-op and
writers take the whole file), so there the same calls run one after another; the figures must
be the same.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, Sum

from apps.common.errors import ApplicationError
from apps.ledger import services
from apps.ledger.models import AccountPurpose, Entry, JournalTransaction, MovementType
from apps.ledger.services import Leg
from apps.ledger.tests.factories import account, assert_ledger_invariants, parties, top_up

ON_POSTGRESQL = connection.vendor == "postgresql"
DEBITS = 1_000
THREADS = 16


@pytest.mark.django_db(transaction=ON_POSTGRESQL)
def test_a_thousand_concurrent_debits_on_a_wallet_of_fifty_debits() -> None:
    world = parties()
    top_up(world.carrier, 50_000)
    wallet = account(world.carrier, AccountPurpose.WALLET)
    income = account(world.operator, AccountPurpose.RECEIVABLE)
    # Every debit twice, the second time from another thread and in another order.
    calls = [*range(DEBITS), *reversed(range(DEBITS))]
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS if ON_POSTGRESQL else 1)

    def debit(n: int) -> str:
        try:
            services.journal_post(
                external_id=f"debit-{n}",
                movement_type=MovementType.SWAP_EXPENSE,
                legs=[Leg(wallet, -100), Leg(income, 100)],
            )
        except ApplicationError as refused:
            return refused.code
        return "posted"

    def worker(share: list[int]) -> None:
        try:
            start.wait()
            results = [(n, debit(n)) for n in share]
            with lock:
                outcomes.extend(results)
        finally:
            connection.close()  # each thread's own connection

    if ON_POSTGRESQL:
        threads = [threading.Thread(target=worker, args=(calls[index::THREADS],)) for index in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        outcomes = [(n, debit(n)) for n in calls]

    assert len(outcomes) == 2 * DEBITS
    by_debit: dict[int, set[str]] = {}
    for n, outcome in outcomes:
        by_debit.setdefault(n, set()).add(outcome)
    assert all(len(seen) == 1 for seen in by_debit.values()), "a debit and its resend answered differently"
    assert Counter(seen.pop() for seen in by_debit.values()) == {"posted": 500, "insufficient_funds": 500}

    wallet.refresh_from_db()
    assert wallet.balance_fen == 0
    debits = JournalTransaction.objects.filter(external_id__startswith="debit-")
    assert debits.count() == 500
    assert debits.values("external_id").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    # Never negative: replay the wallet's entries in the order they were written (ids are
    # assigned under the wallet's lock).
    running, lowest = 0, 0
    for amount in Entry.objects.filter(account=wallet).order_by("pk").values_list("amount_fen", flat=True):
        running += amount
        lowest = min(lowest, running)
    assert (running, lowest) == (0, 0)
    assert Entry.objects.filter(account=income).aggregate(total=Sum("amount_fen"))["total"] == 50_000
    assert_ledger_invariants()
