"""What an attacker with database access could do to the audit trail, per database vendor.

The append-only triggers (migration 0002) must be switched off first: on Postgres by disabling the
table's user triggers, on SQLite (which has no such switch) by dropping and recreating the trigger.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

_append_only_migration = importlib.import_module("finai.migrations.0002_audit_append_only")


@contextmanager
def audit_triggers_disabled() -> Iterator[None]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks still queued in this transaction would block ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE finai_auditevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER finai_audit_event_no_update")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE finai_auditevent ENABLE TRIGGER USER")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            else:
                for statement in _append_only_migration.SQLITE_FORWARD:
                    cursor.execute(statement)


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Run raw SQL against the audit table with its append-only triggers off."""
    with audit_triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def event_payload_overwrite(*, sequence: int, payload: dict[str, Any]) -> None:
    value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = f"UPDATE finai_auditevent SET payload = {value} WHERE sequence = %s"  # noqa: S608
    tamper(sql, [json.dumps(payload), sequence])


def event_delete(*, sequence: int) -> None:
    tamper("DELETE FROM finai_auditevent WHERE sequence = %s", [sequence])


def events_shift_up(*, from_sequence: int) -> None:
    """Renumber events from `from_sequence` on by one, leaving a free slot (in two steps: unique index)."""
    tamper("UPDATE finai_auditevent SET sequence = sequence + 1000000 WHERE sequence >= %s", [from_sequence])
    tamper("UPDATE finai_auditevent SET sequence = sequence - 999999 WHERE sequence >= 1000000")
