"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: conditions, incidents, resends, deliveries and the ids of the events handled;
and an incident open before 0002 keeps counting from its start (its condition is made)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from as2bus.notify.adapters.repository import SqlUnitOfWork
from as2bus.notify.adapters.tables import metadata
from as2bus.notify.bootstrap import MIGRATIONS
from as2bus.shared.db import create_engine, session_factory, upgrade_database
from as2bus.testing.migrations import migration_drift, table_names

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    tables = {"conditions", "incidents", "resends", "deliveries", "processed_events"}
    assert set(metadata.tables) == tables
    assert await table_names(database_url) == tables | {"alembic_version"}


async def test_an_incident_open_before_conditions_were_kept_gets_its_condition(
    database_url: str,
) -> None:
    await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url, "0001")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.insert(metadata.tables["incidents"]), [
                dict(rule_id=rule, subject="ACME", kind="partner-unreachable", state="firing",
                     first_seen=first, last_seen=T0, count=count, detail="refused",
                     notified_count=1, last_notified_at=T0)
                for rule, first, count in (("r1", T0.replace(hour=8), 5), ("r2", T0, 2))
            ])  # fmt: skip
        await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url)
        async with SqlUnitOfWork(session_factory(engine)) as uow:
            (condition,) = await uow.conditions.all()
        assert (condition.kind, condition.subject) == ("partner-unreachable", "ACME")
        assert (condition.since, condition.count, condition.open_messages) == (
            T0.replace(hour=8),
            5,
            (),
        )
    finally:
        await engine.dispose()
