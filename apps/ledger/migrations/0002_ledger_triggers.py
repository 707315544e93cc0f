"""The database keeps the ledger honest, whoever writes to it.

PostgreSQL:
- ``ledger_entry_balanced`` and ``ledger_transaction_balanced`` are constraint triggers,
  DEFERRABLE INITIALLY DEFERRED: they run when the database transaction commits and refuse it if
  any journal transaction it touched has fewer than two entries or entries that do not sum to
  zero per currency, even when the rows were written by raw SQL.
- ``ledger_entry_immutable`` and ``ledger_transaction_immutable`` refuse UPDATE and DELETE of
  posted entries and journal transactions. (TRUNCATE, which test databases use to empty
  themselves, fires no row triggers; only the database owner may run it.)

SQLite has no deferred triggers: the balance of a journal transaction is checked there by the
posting service only (``apps.ledger.services.posting``); the immutability triggers are the same.
"""

from django.db import migrations

POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION ledger_check_balanced(txn_id bigint) RETURNS void AS $$
DECLARE
    entry_count bigint;
    balanced boolean;
BEGIN
    SELECT coalesce(sum(n), 0), coalesce(bool_and(total = 0), true) INTO entry_count, balanced FROM (
        SELECT count(*) AS n, sum(e.amount_fen) AS total
        FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id
        WHERE e.journal_transaction_id = txn_id GROUP BY a.currency
    ) AS per_currency;
    IF entry_count < 2 OR NOT balanced THEN
        RAISE EXCEPTION 'ledger_transaction_unbalanced: journal transaction % has % entries that do not sum to zero per currency',
            txn_id, entry_count USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_check_balanced(NEW.journal_transaction_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger AS $$
BEGIN
    PERFORM ledger_check_balanced(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_immutable: % on % is refused; post a reversal instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_entry
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced AFTER INSERT ON ledger_journaltransaction
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transaction_immutable BEFORE UPDATE OR DELETE ON ledger_journaltransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS ledger_transaction_immutable ON ledger_journaltransaction;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_entry;
DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_journaltransaction;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_entry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP FUNCTION IF EXISTS ledger_transaction_balanced();
DROP FUNCTION IF EXISTS ledger_entry_balanced();
DROP FUNCTION IF EXISTS ledger_check_balanced(bigint);
"""

SQLITE_TRIGGERS = {
    f"ledger_{table}_refuse_{event.lower()}": f"""CREATE TRIGGER ledger_{table}_refuse_{event.lower()}
        BEFORE {event} ON ledger_{table}
        BEGIN SELECT RAISE(ABORT, 'ledger_immutable: {event} on ledger_{table} is refused; post a reversal instead'); END;"""
    for table in ("entry", "journaltransaction")
    for event in ("UPDATE", "DELETE")
}
SQLITE_CREATE = list(SQLITE_TRIGGERS.values())
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


def create(apps, schema_editor):
    statements = [POSTGRES_CREATE] if schema_editor.connection.vendor == "postgresql" else SQLITE_CREATE
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    statements = [POSTGRES_DROP] if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
