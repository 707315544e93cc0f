from apps.ledger.testing import ledger_rows_deleted_before_flush  # noqa: F401 - an autouse fixture for these tests
