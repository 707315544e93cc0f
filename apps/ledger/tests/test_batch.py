"""``batch_run``: the statements of a posting step in one round trip, with their parameters bound
on the client. Run on SQLite and PostgreSQL: the results must be the same on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.ledger.models import JournalTransaction, MovementType
from apps.ledger.services.posting import Statement, batch_run

pytestmark = pytest.mark.django_db

AWKWARD_TEXTS = [
    "plain",
    "it's quoted",
    'double "quotes"',
    "back\\slash and \\' together",
    "percent %s and %% and %(name)s",
    "semicolon; SELECT 1; --",
    "中文 and ünïcode",
    "",
]


MOMENT = datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC)


def transaction_insert(external_id: str, memo: str) -> Statement:
    stamp = connection.ops.adapt_datetimefield_value(MOMENT)  # as the posting writes it
    return Statement(
        f"INSERT INTO {JournalTransaction._meta.db_table}"  # noqa: S608 - no user input
        " (created_at, updated_at, external_id, movement_type, request_hash, reference, memo)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [
            stamp,
            stamp,
            external_id,
            MovementType.ADJUSTMENT,
            "f" * 64,
            "",
            memo,
        ],
    )


def test_each_statement_sees_the_ones_before_and_returns_its_rows() -> None:
    statements = [
        transaction_insert("batch-1", "first"),
        Statement(
            f"SELECT external_id, memo FROM {JournalTransaction._meta.db_table} WHERE external_id = %s",  # noqa: S608
            ["batch-1"],
            rows=True,
        ),
        transaction_insert("batch-2", "second"),
        Statement(
            f"SELECT count(*) FROM {JournalTransaction._meta.db_table} WHERE external_id IN (%s, %s)",  # noqa: S608
            ["batch-1", "batch-2"],
            rows=True,
        ),
    ]

    with transaction.atomic():
        results = batch_run(statements)
        written = JournalTransaction.objects.get(external_id="batch-2")
        # The ledger's deferred balance check would refuse these entry-less transactions at commit.
        transaction.set_rollback(True)

    assert results == [None, [("batch-1", "first")], None, [(2,)]]
    assert (written.created_at, written.updated_at, written.memo) == (MOMENT, MOMENT, "second")


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_parameters_arrive_exactly_as_given(text: str) -> None:
    with transaction.atomic():
        first, _insert, second = batch_run(
            [
                Statement("SELECT %s, %s, %s, %s", [text, -12_345_678_901, None, 7], rows=True),
                transaction_insert("batch-text", text),
                Statement(
                    f"SELECT memo FROM {JournalTransaction._meta.db_table} WHERE external_id = %s",  # noqa: S608
                    ["batch-text"],
                    rows=True,
                ),
            ]
        )
        transaction.set_rollback(True)

    assert first == [(text, -12_345_678_901, None, 7)]
    assert second == [(text,)]


def test_an_error_stops_the_batch_and_nothing_of_it_remains() -> None:
    before = JournalTransaction.objects.count()
    statements = [
        transaction_insert("batch-dup", "first"),
        transaction_insert("batch-dup", "the same external id"),
        transaction_insert("batch-after", "never reached"),
    ]

    with pytest.raises(IntegrityError), transaction.atomic():
        batch_run(statements)

    assert JournalTransaction.objects.count() == before
    assert not JournalTransaction.objects.filter(external_id__startswith="batch-").exists()


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT %s, %s", [1]),  # a parameter missing
        ("SELECT %s", [1, 2]),  # one too many
        ("SELECT %(name)s", [1]),  # a placeholder a batch does not use
    ],
)
def test_mismatched_placeholders_are_refused_and_nothing_of_the_batch_remains(sql: str, params: list[int]) -> None:
    before = JournalTransaction.objects.count()

    # PostgreSQL: refused before the batch is sent; SQLite: by the database, then rolled back.
    with pytest.raises((ValueError, DatabaseError)), transaction.atomic():
        batch_run([transaction_insert("batch-never", "refused with the batch"), Statement(sql, params, rows=True)])

    assert JournalTransaction.objects.count() == before
