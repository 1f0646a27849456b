"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: the ledger's count of a message's documents after the first included."""

from __future__ import annotations

from as2bus.inbound.adapters.tables import metadata
from as2bus.inbound.bootstrap import MIGRATIONS
from as2bus.testing.migrations import migration_drift, table_columns


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    columns = await table_columns(database_url, "received_messages")
    assert not columns["attachments"]["nullable"]
