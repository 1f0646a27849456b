"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: keystores, certificates, expiry notices and the outbox."""

from __future__ import annotations

from as2bus.cert.adapters.tables import metadata
from as2bus.cert.bootstrap import MIGRATIONS
from as2bus.testing.migrations import migration_drift, table_names


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    tables = {"certificates", "keystores", "expiry_notices", "outbox"}
    assert set(metadata.tables) == tables
    assert await table_names(database_url) == tables | {"alembic_version"}
