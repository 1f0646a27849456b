"""Without pre-ping, a connection that died with the server costs one failed statement: the
pool is dropped and the next statement gets a fresh connection (PostgreSQL)."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from as2bus.shared.db import create_engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(sa.text("SELECT pg_backend_pid()")) or 0)


async def test_a_killed_connection_fails_once_then_the_pool_reconnects(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    assert engine.pool._pre_ping is False
    try:
        first = await _backend_pid(engine)
        url = make_url(postgres_url)
        admin = await asyncpg.connect(
            host=url.host, port=url.port, user=url.username, password=url.password,
            database="postgres",
        )  # fmt: skip
        try:  # as a server restart or a failover would
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        with pytest.raises(sa.exc.DBAPIError) as failed:
            await _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert await _backend_pid(engine) not in (0, first)  # a new connection, working
    finally:
        await engine.dispose()
