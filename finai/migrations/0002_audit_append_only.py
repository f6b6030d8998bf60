"""Database triggers that refuse UPDATE and DELETE of audit rows, whatever the client.

Postgres refuses row UPDATE and DELETE; TRUNCATE is left to database privileges (the application
role should not hold it) because Django's test flush uses it. SQLite, the demo database, refuses
UPDATE only, since its flush deletes rows; the model guard refuses ORM deletes everywhere.
"""

from django.db import migrations

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION finai_audit_event_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER finai_audit_event_no_update BEFORE UPDATE ON finai_auditevent
    FOR EACH ROW EXECUTE FUNCTION finai_audit_event_immutable();
CREATE TRIGGER finai_audit_event_no_delete BEFORE DELETE ON finai_auditevent
    FOR EACH ROW EXECUTE FUNCTION finai_audit_event_immutable();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS finai_audit_event_no_update ON finai_auditevent;
DROP TRIGGER IF EXISTS finai_audit_event_no_delete ON finai_auditevent;
DROP FUNCTION IF EXISTS finai_audit_event_immutable();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER finai_audit_event_no_update BEFORE UPDATE ON finai_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS finai_audit_event_no_update;",
]


def _run(schema_editor, postgres, sqlite):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": [postgres], "sqlite": sqlite}.get(vendor)
    if statements is None:
        raise NotImplementedError(f"No append-only trigger for database vendor {vendor!r}.")
    for statement in statements:
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRES_FORWARD, SQLITE_FORWARD)


def reverse(apps, schema_editor):
    _run(schema_editor, POSTGRES_REVERSE, SQLITE_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("finai", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
