"""The test helper that lets a transactional test which wrote to the ledger be flushed on SQLite."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from apps.ledger.models import Entry
from apps.ledger.testing import ledger_rows_delete
from apps.ledger.tests.factories import parties, top_up


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_that_posts_is_flushed_afterwards() -> None:
    # Without apps.ledger.testing, on SQLite the flush after this test fails on the triggers.
    world = parties()
    top_up(world.carrier, 100)
    assert Entry.objects.count() == 2


@pytest.mark.django_db
def test_the_helper_puts_the_immutability_triggers_back() -> None:
    world = parties()
    top_up(world.carrier, 100)
    if connection.vendor != "sqlite":  # PostgreSQL flushes with TRUNCATE: the helper refuses to run
        with pytest.raises(RuntimeError):
            ledger_rows_delete()
        return

    ledger_rows_delete()

    assert Entry.objects.count() == 0
    top_up(world.carrier, 100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.update(amount_fen=1)
