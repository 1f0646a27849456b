"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: stations, partners, partnerships, notification channels and rules, and the
outbox."""

from __future__ import annotations

from as2bus.config.adapters import notification_tables
from as2bus.config.adapters.tables import metadata
from as2bus.config.bootstrap import MIGRATIONS
from as2bus.testing.migrations import migration_drift, table_names


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    assert notification_tables.notification_rules.metadata is metadata
    tables = {"stations", "partners", "partnerships", "outbox"}
    tables |= {"notification_channels", "notification_rules"}
    assert set(metadata.tables) == tables
    assert await table_names(database_url) == tables | {"alembic_version"}
