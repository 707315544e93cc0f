"""Only the indexes that reads use on the tables every order writes (accounts, journal
transactions, holds): no time index on accounts and holds, no organisation index on accounts
(the unique constraint's leading column serves it), and the unique external ids as constraints,
without the LIKE indexes that ``unique=True`` adds on PostgreSQL.

SQLite alters a column by rebuilding its table, which drops the table's triggers: the journal's
immutability triggers of migration 0002 are created again afterwards (and after a reversal)."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

ledger_triggers = importlib.import_module("apps.ledger.migrations.0002_ledger_triggers")


def sqlite_triggers_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*ledger_triggers.SQLITE_DROP, *ledger_triggers.SQLITE_CREATE]:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_initial'),
        ('ledger', '0003_ledger_balance_check_cheaper'),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers_again),
        migrations.AlterField(
            model_name='account',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name='account',
            name='organisation',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_accounts', to='accounts.organisation'),
        ),
        migrations.AlterField(
            model_name='hold',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name='hold',
            name='external_id',
            field=models.CharField(max_length=255, verbose_name='external id'),
        ),
        migrations.AlterField(
            model_name='hold',
            name='resolution_external_id',
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AlterField(
            model_name='journaltransaction',
            name='external_id',
            field=models.CharField(max_length=255, verbose_name='external id'),
        ),
        migrations.AddConstraint(
            model_name='hold',
            constraint=models.UniqueConstraint(fields=('external_id',), name='ledger_hold_one_per_external_id'),
        ),
        migrations.AddConstraint(
            model_name='hold',
            constraint=models.UniqueConstraint(fields=('resolution_external_id',), name='ledger_hold_resolved_once_per_id'),
        ),
        migrations.AddConstraint(
            model_name='journaltransaction',
            constraint=models.UniqueConstraint(fields=('external_id',), name='ledger_transaction_one_per_external_id'),
        ),
        migrations.RunPython(sqlite_triggers_again, migrations.RunPython.noop),
    ]
