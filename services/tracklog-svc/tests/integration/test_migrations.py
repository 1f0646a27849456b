"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: an inbound message's documents after the first included."""

from __future__ import annotations

from as2bus.testing.migrations import migration_drift, table_columns
from as2bus.tracklog.adapters.tables import metadata
from as2bus.tracklog.bootstrap import MIGRATIONS


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    columns = await table_columns(database_url, "messages")
    assert columns["attachments"]["nullable"]
