"""``batch_run``: the statements of a posting step in one round trip, with their parameters bound
on the client. Run on SQLite and PostgreSQL: the results must be the same on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.ledger.models import JournalTransaction, MovementType
from apps.ledger.services.posting import SessionStatements, Statement, batch_run

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


# --- Prepared statements (PostgreSQL) -----------------------------------------------------
postgres_only = pytest.mark.postgresql  # prepared statements are PostgreSQL's


def session() -> SessionStatements:
    connection.ensure_connection()
    return SessionStatements.of(connection.connection)


def prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def lookup_batch(tag: str, external_id: str) -> list[Statement]:
    """Two statements, the second one's SQL unique to the test (a session's counts outlive a test)."""
    return [
        Statement("SELECT %s", [tag], rows=True),
        Statement(
            f"SELECT memo, %s AS {tag} FROM {JournalTransaction._meta.db_table} WHERE external_id = %s",  # noqa: S608
            [tag, external_id],
            rows=True,
        ),
    ]


def run_until_prepared(statements: list[Statement]) -> None:
    for _ in range(SessionStatements.PREPARE_AFTER + 1):
        batch_run(statements)


def prepared_name(statement: Statement) -> str | None:
    key = (statement.sql, ("text",) * len(statement.params))
    name = session().prepared.get(key)
    return None if name is None else name.decode()


@postgres_only
def test_a_statement_a_connection_runs_often_is_prepared_and_answers_the_same() -> None:
    with transaction.atomic():
        batch_run([transaction_insert("batch-prepared", "memo")])
        statements = lookup_batch("often", "batch-prepared")
        answers = [batch_run(statements) for _ in range(SessionStatements.PREPARE_AFTER + 3)]
        name = prepared_name(statements[1])
        names = prepared_names()
        transaction.set_rollback(True)

    assert all(answer == [[("often",)], [("memo", "often")]] for answer in answers)
    assert name is not None
    assert name in names


@postgres_only
def test_a_prepared_statement_is_prepared_anew_when_its_runs_have_doubled() -> None:
    statements = lookup_batch("doubling", "batch-none")
    run_until_prepared(statements)
    first = prepared_name(statements[1])
    runs = session().runs[(statements[1].sql, ("text", "text"))]
    for _ in range(runs):
        assert batch_run(statements) == [[("doubling",)], []]
    second = prepared_name(statements[1])
    names = prepared_names()

    assert first is not None
    assert second is not None
    assert second != first
    assert second in names
    assert first not in names


@postgres_only
def test_a_session_whose_statements_were_discarded_prepares_them_afresh() -> None:
    statements = lookup_batch("discarded", "batch-none")
    run_until_prepared(statements)
    before = prepared_name(statements[1])
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")

    with pytest.raises(DatabaseError), transaction.atomic():
        batch_run(statements)  # its name is gone: this batch fails
    answer = batch_run(statements)
    run_until_prepared(statements)
    after = prepared_name(statements[1])

    assert answer == [[("discarded",)], []]
    assert before is not None
    assert after is not None
    assert after != before
    assert after in prepared_names()


@postgres_only
def test_the_statements_a_failed_batch_was_preparing_run_unprepared_from_then_on() -> None:
    insert = transaction_insert("batch-failing", "memo")
    failing = [insert, Statement(insert.sql.replace("INSERT INTO", "INSERT  INTO"), insert.params)]  # its own key
    key = (failing[1].sql, ("timestamptz", "timestamptz", "text", "text", "text", "text", "text"))
    for _ in range(SessionStatements.PREPARE_AFTER):
        with pytest.raises(IntegrityError), transaction.atomic():
            batch_run(failing)
    assert key not in session().never  # not due yet: nothing was being prepared

    with pytest.raises(IntegrityError), transaction.atomic():
        batch_run(failing)  # due: prepared in this batch, which fails
    with transaction.atomic():
        results = batch_run([failing[1], lookup_batch("after", "batch-failing")[1]])
        transaction.set_rollback(True)

    assert key in session().never
    assert key not in session().prepared
    assert results == [None, [("memo", "after")]]
    assert not JournalTransaction.objects.filter(external_id="batch-failing").exists()


@postgres_only
def test_prepared_batches_can_be_turned_off(settings) -> None:
    settings.SWAPNET_DB_PREPARED_BATCHES = False
    statements = lookup_batch("off", "batch-none")
    answers = [batch_run(statements) for _ in range(SessionStatements.PREPARE_AFTER + 3)]

    assert all(answer == [[("off",)], []] for answer in answers)
    assert prepared_name(statements[1]) is None
    assert session().runs[(statements[1].sql, ("text", "text"))] == 0
