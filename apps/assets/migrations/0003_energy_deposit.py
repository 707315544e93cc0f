"""Each pack standard's energy deposit (fen), by default ``SWAP_ENERGY_DEPOSIT_FEN``.

SQLite adds the column by rebuilding the pack standards' table, which its battery placement
triggers (0002) refer to: they are dropped around the rebuild and made again (SQLite only;
PostgreSQL adds the column in place).
"""

import importlib

from django.db import migrations, models

import apps.assets.models

triggers = importlib.import_module("apps.assets.migrations.0002_battery_placement_triggers")


def sqlite_drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.drop(apps, schema_editor)


def sqlite_create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0002_battery_placement_triggers"),
    ]

    operations = [
        migrations.RunPython(sqlite_drop_triggers, sqlite_create_triggers),
        migrations.AddField(
            model_name="packstandard",
            name="energy_deposit_fen",
            field=models.PositiveBigIntegerField(
                default=apps.assets.models.default_energy_deposit_fen,
                help_text="Paid by a vehicle that first takes a network battery; released when it hands the battery back.",
                verbose_name="energy deposit (fen)",
            ),
        ),
        migrations.RunPython(sqlite_create_triggers, sqlite_drop_triggers),
    ]
