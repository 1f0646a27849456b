"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: users, their sessions, failed sign-ins, the audit trail and the generated
passwords waiting to be shown once."""

from __future__ import annotations

from as2bus.console.adapters.tables import metadata
from as2bus.console.bootstrap import MIGRATIONS
from as2bus.testing.migrations import migration_drift, table_names


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    tables = {"users", "sessions", "sign_in_failures", "audit_entries", "shown_once"}
    assert set(metadata.tables) == tables
    assert await table_names(database_url) == tables | {"alembic_version"}
