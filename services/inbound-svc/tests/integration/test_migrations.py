"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: the ledger's count of a message's documents after the first included."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.inbound.adapters.tables import metadata


def _differences(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_the_migrated_database_matches_the_declared_tables(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        connection = await session.connection()
        assert await connection.run_sync(_differences) == []
        columns = await connection.run_sync(
            lambda c: {col["name"]: col for col in sa.inspect(c).get_columns("received_messages")}
        )
    assert not columns["attachments"]["nullable"]
