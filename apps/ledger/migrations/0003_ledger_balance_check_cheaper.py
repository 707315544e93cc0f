"""The balance check of migration 0002, as strict and cheaper at commit (PostgreSQL only).

- ``ledger_check_balanced`` reads each entry's currency by the account's primary key (a subquery
  per entry) instead of joining the accounts: the accounts table is the ledger's most updated
  one, and with stale statistics the join chose a scan of all its row versions.
- ``ledger_entry_balanced`` (one deferred call per entry) skips the check when the entry's
  journal transaction was inserted by this same top-level database transaction (its row's xmin
  is this transaction's id): that journal transaction's own deferred trigger
  (``ledger_transaction_balanced``, queued by the same transaction, so fired at its commit)
  checks all its entries once. Every other entry (added to a journal transaction committed
  before, or inserted by a subtransaction, whose xmin is the subtransaction's) is checked as
  before. So an unbalanced journal transaction is refused at commit exactly as before, even
  from raw SQL, with one check per journal transaction instead of one per entry as well.

SQLite: nothing changes (it has no deferred triggers; the posting service checks).
"""

from django.db import migrations

POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION ledger_check_balanced(txn_id bigint) RETURNS void AS $$
DECLARE
    entry_count bigint;
    balanced boolean;
BEGIN
    SELECT coalesce(sum(n), 0), coalesce(bool_and(total = 0), true) INTO entry_count, balanced FROM (
        SELECT count(*) AS n, sum(amount_fen) AS total FROM (
            SELECT e.amount_fen, (SELECT a.currency FROM ledger_account a WHERE a.id = e.account_id) AS currency
            FROM ledger_entry e WHERE e.journal_transaction_id = txn_id
        ) AS entries GROUP BY currency
    ) AS per_currency;
    IF entry_count < 2 OR NOT balanced THEN
        RAISE EXCEPTION 'ledger_transaction_unbalanced: journal transaction % has % entries that do not sum to zero per currency',
            txn_id, entry_count USING ERRCODE = 'integrity_constraint_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger AS $$
BEGIN
    -- Inserted by this top-level transaction: its own trigger checks it at this commit.
    PERFORM 1 FROM ledger_journaltransaction t
        WHERE t.id = NEW.journal_transaction_id
        AND t.xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296;
    IF NOT FOUND THEN
        PERFORM ledger_check_balanced(NEW.journal_transaction_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

# Migration 0002's definitions.
POSTGRES_RESTORE = """
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
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE, params=None)


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_RESTORE, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_triggers")]

    operations = [migrations.RunPython(create, restore)]
