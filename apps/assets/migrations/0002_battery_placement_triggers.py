"""The database refuses a battery placed beyond what its vehicle or station holds.

A check constraint cannot look at another table, so a trigger compares the battery's vehicle
position with the vehicle's pack standard (``packs_per_vehicle``) and its station slot with the
station's ``slot_count``. Written for both PostgreSQL and SQLite.
"""

from django.db import migrations

POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION assets_battery_placement_check() RETURNS trigger AS $$
BEGIN
    IF NEW.vehicle_id IS NOT NULL AND NEW.vehicle_position > (
        SELECT ps.packs_per_vehicle FROM assets_vehicle v
        JOIN assets_packstandard ps ON ps.id = v.pack_standard_id WHERE v.id = NEW.vehicle_id
    ) THEN
        RAISE EXCEPTION 'battery_vehicle_full: vehicle % holds fewer packs than position %', NEW.vehicle_id, NEW.vehicle_position
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.station_id IS NOT NULL AND NEW.station_slot > (
        SELECT s.slot_count FROM assets_station s WHERE s.id = NEW.station_id
    ) THEN
        RAISE EXCEPTION 'battery_station_slot_missing: station % has no slot %', NEW.station_id, NEW.station_slot
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assets_battery_placement BEFORE INSERT OR UPDATE OF vehicle_id, vehicle_position, station_id, station_slot
    ON assets_battery FOR EACH ROW EXECUTE FUNCTION assets_battery_placement_check();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS assets_battery_placement ON assets_battery;
DROP FUNCTION IF EXISTS assets_battery_placement_check();
"""

_SQLITE_VEHICLE_FULL = """
    NEW.vehicle_id IS NOT NULL AND NEW.vehicle_position > (
        SELECT ps.packs_per_vehicle FROM assets_vehicle v
        JOIN assets_packstandard ps ON ps.id = v.pack_standard_id WHERE v.id = NEW.vehicle_id)
"""
_SQLITE_SLOT_MISSING = """
    NEW.station_id IS NOT NULL AND NEW.station_slot > (SELECT s.slot_count FROM assets_station s WHERE s.id = NEW.station_id)
"""
SQLITE_CREATE = [
    f"""CREATE TRIGGER assets_battery_placement_{event.split()[0].lower()}_{name} BEFORE {event} ON assets_battery
        WHEN {condition}
        BEGIN SELECT RAISE(ABORT, '{message}'); END;"""
    for event in ("INSERT", "UPDATE OF vehicle_id, vehicle_position, station_id, station_slot")
    for name, condition, message in (
        ("vehicle", _SQLITE_VEHICLE_FULL, "battery_vehicle_full: the vehicle holds fewer packs"),
        ("station", _SQLITE_SLOT_MISSING, "battery_station_slot_missing: the station has no such slot"),
    )
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS assets_battery_placement_{event}_{name}"
    for event in ("insert", "update")
    for name in ("vehicle", "station")
]


def create(apps, schema_editor):
    statements = [POSTGRES_CREATE] if schema_editor.connection.vendor == "postgresql" else SQLITE_CREATE
    for statement in statements:
        schema_editor.execute(statement, params=None)


def drop(apps, schema_editor):
    statements = [POSTGRES_DROP] if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
