"""SQLite engines run their calls on the event loop, one connection per engine (``shared.db``)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from as2bus.shared.db import DEFAULT_POOL_SIZE, LoopSqliteConnection, create_engine


async def test_statements_run_on_the_event_loops_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")

    @event.listens_for(engine.sync_engine, "connect")
    def whoami(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("whoami", 0, threading.get_ident)

    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, LoopSqliteConnection)
            thread = await connection.scalar(sa.text("SELECT whoami()"))
            pragmas = [
                await connection.scalar(sa.text(f"PRAGMA {name}"))
                for name in ("journal_mode", "synchronous", "foreign_keys")
            ]
        assert thread == threading.get_ident()  # not aiosqlite's worker thread
        assert pragmas == ["wal", 1, 1]  # synchronous 1 = NORMAL
    finally:
        await engine.dispose()


async def test_a_transaction_that_waits_does_not_lock_out_the_others(tmp_path: Path) -> None:
    """One connection: a second writer waits for it on the loop. With several connections, a
    writer would block the loop in SQLite's busy wait while the first could not finish."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("CREATE TABLE t (n INTEGER)"))

        async def write(n: int, hold: float) -> None:
            async with engine.begin() as connection:
                await connection.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
                await asyncio.sleep(hold)  # e.g. a network call inside the transaction

        await asyncio.wait_for(asyncio.gather(write(1, 0.3), write(2, 0), write(3, 0)), 5)
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.text("SELECT n FROM t ORDER BY n"))).all()
        assert [r.n for r in rows] == [1, 2, 3]
    finally:
        await engine.dispose()


async def test_connections_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    for n in range(3):
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        async with engine.begin() as connection:
            await connection.execute(sa.text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            await connection.execute(sa.text("INSERT INTO t VALUES (:n)"), {"n": n})
        await engine.dispose()
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(sa.text("SELECT count(*) FROM t")) == 3
    finally:
        await engine.dispose()
    assert not [t for t in threading.enumerate() if "aiosqlite" in type(t).__module__]


def test_postgresql_keeps_a_pool_sized_for_the_work_sqlite_one_connection(tmp_path: Path) -> None:
    """No connection is made here: the pools are only configured."""
    default = create_engine("postgresql+asyncpg://as2bus@127.0.0.1:1/none")
    sized = create_engine("postgresql+asyncpg://as2bus@127.0.0.1:1/none", pool_size=24)
    sqlite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}", pool_size=24)
    assert default.pool.size() == DEFAULT_POOL_SIZE == 20  # type: ignore[attr-defined]
    assert sized.pool.size() == 24  # type: ignore[attr-defined]
    assert sqlite.pool.size() == 1  # type: ignore[attr-defined]


def test_the_pool_size_is_a_setting_of_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    from as2bus.shared.settings import ServiceSettings

    assert ServiceSettings().db_pool_size == DEFAULT_POOL_SIZE
    monkeypatch.setenv("AS2BUS_DB_POOL_SIZE", "7")
    assert ServiceSettings().db_pool_size == 7
