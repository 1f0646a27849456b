"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: an inbound message's documents after the first included."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from as2bus.shared.db import create_engine
from as2bus.tracklog.adapters.tables import metadata


def _differences(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_the_migrated_database_matches_the_declared_tables(migrated: str) -> None:
    engine = create_engine(migrated)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            columns = await connection.run_sync(
                lambda c: {col["name"]: col for col in sa.inspect(c).get_columns("messages")}
            )
    finally:
        await engine.dispose()
    assert columns["attachments"]["nullable"]
