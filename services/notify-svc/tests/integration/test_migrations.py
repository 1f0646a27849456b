"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: incidents, deliveries and the ids of the events handled."""

from __future__ import annotations

from as2bus.notify.adapters.tables import metadata
from as2bus.notify.bootstrap import MIGRATIONS
from as2bus.testing.migrations import migration_drift, table_names


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    tables = {"incidents", "deliveries", "processed_events"}
    assert set(metadata.tables) == tables
    assert await table_names(database_url) == tables | {"alembic_version"}
