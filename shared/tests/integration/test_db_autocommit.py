"""Autocommit sessions leave no transaction open after a statement on PostgreSQL; ordinary ones
do. On SQLite they are ordinary sessions (no round trip to save, and a PRAGMA per switch)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from as2bus.shared.db import autocommit_session_factory, create_engine, session_factory

METADATA = sa.MetaData()
NOTES = sa.Table("notes", METADATA, sa.Column("id", sa.Integer, primary_key=True))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield engine
    await engine.dispose()


async def _open_transaction_after_insert(sessions: async_sessionmaker[Any], row: int) -> bool:
    async with sessions() as session, session.begin():
        await session.execute(sa.insert(NOTES), {"id": row})
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        # asyncpg says it with a method, sqlite3 (through aiosqlite) with a property
        return bool(
            raw.is_in_transaction() if hasattr(raw, "is_in_transaction") else raw.in_transaction
        )


async def test_autocommit_sessions_commit_each_statement_by_itself(engine: AsyncEngine) -> None:
    autocommit = autocommit_session_factory(engine)
    on_sqlite = engine.dialect.name == "sqlite"
    assert await _open_transaction_after_insert(session_factory(engine), 1) is True
    assert await _open_transaction_after_insert(autocommit, 2) is on_sqlite
    # SQLite: the engine as it is, so no connection is switched to autocommit and back
    switched = autocommit.kw["bind"].get_execution_options().get("isolation_level")
    assert switched == (None if on_sqlite else "AUTOCOMMIT")
    # Both rows are there, and an ordinary session afterwards is transactional again (the
    # connection's isolation level was reset when it went back to the pool).
    assert await _open_transaction_after_insert(session_factory(engine), 3) is True
    async with session_factory(engine)() as session:
        assert sorted((await session.scalars(sa.select(NOTES.c.id))).all()) == [1, 2, 3]
