"""Test support: let a ``transaction=True`` test that wrote to the ledger on SQLite be flushed.

After such a test, Django empties every table with ``DELETE FROM``; on SQLite the ledger's
immutability triggers (migration 0002) refuse that for journal transactions and entries, and the
teardown fails. (PostgreSQL empties tables with TRUNCATE, which fires no row triggers.) The
fixture below deletes the ledger's rows first, with the triggers briefly dropped inside one
transaction, and puts the triggers back.

Use it from the root ``conftest.py`` with ``pytest_plugins = ["apps.ledger.testing"]``, or import
``ledger_rows_deleted_before_flush`` into a directory's ``conftest.py``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.db import connection, transaction

# Children before parents (foreign keys).
LEDGER_TABLES = (
    "ledger_statementline",
    "ledger_statement",
    "ledger_debt",
    "ledger_hold",
    "ledger_entry",
    "ledger_journaltransaction",
    "ledger_account",
    "ledger_contract",
)


def ledger_rows_delete() -> None:
    """Delete every ledger row (SQLite only; a test helper, never for a real database)."""
    if connection.vendor != "sqlite":
        raise RuntimeError("only for SQLite test databases")
    triggers = importlib.import_module("apps.ledger.migrations.0002_ledger_triggers")
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in triggers.SQLITE_DROP:
            cursor.execute(statement)
        for table in LEDGER_TABLES:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        for statement in triggers.SQLITE_CREATE:
            cursor.execute(statement)


@pytest.fixture(autouse=True)
def ledger_rows_deleted_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if not transactional or connection.vendor != "sqlite":
        yield
        return
    # Requested here, the database fixture is torn down (flushed) after this one.
    request.getfixturevalue("transactional_db")
    yield
    ledger_rows_delete()
