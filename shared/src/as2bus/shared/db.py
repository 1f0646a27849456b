"""Database base: async engines for SQLite (embedded default) and PostgreSQL, and migrations.

Every service owns its schema and runs Alembic migrations that work on both databases
(SQLite through batch mode).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> sa.MetaData:
    """Metadata with stable constraint names, so migrations can refer to them on both backends."""
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class LoopSqliteConnection(aiosqlite.Connection):
    """aiosqlite, but each call runs on the event loop instead of aiosqlite's thread.

    aiosqlite hands every call (cursor, execute, fetch, close, commit) to its thread and
    back: about ten thread hand-offs per statement, each a queue put, a wake-up and a
    self-pipe write. A local SQLite file answers most statements in microseconds, far less
    than the hand-off: measured on a 1 KB exchange burst, the stack did 1.6-1.8x the
    exchanges per second with calls on the loop (docs/benchmarks.md). The price is that a
    commit's fsync, and a wait for another process's write lock (busy_timeout), block the
    loop; the engine keeps one connection per process (``create_engine``), so no two
    transactions of one service wait for each other's locks on the loop. Only connecting
    and closing still use aiosqlite's thread (``_connection`` is None then).
    """

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self._connection is None:
            return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        return fn(*args, **kwargs)


def _sqlite_on_loop(database: str) -> Any:
    async def connect() -> aiosqlite.Connection:
        def connector() -> sqlite3.Connection:
            # Created on aiosqlite's thread, used on the loop's.
            return sqlite3.connect(database, check_same_thread=False)

        connection = LoopSqliteConnection(connector, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
        return await connection

    return connect


#: PostgreSQL connections a replica keeps once it has needed them (``AS2BUS_DB_POOL_SIZE``).
#: SQLAlchemy's own default, 5, is below what outbound-svc's 16 send workers use at once: every
#: checkout beyond it opened a new connection (TCP, an SSL attempt, authentication) and closed
#: it after one transaction, about 8 % of outbound-svc's CPU in a burst; 10 was not enough
#: either (docs/benchmarks.md, finding 17). A quiet service opens far fewer.
DEFAULT_POOL_SIZE = 20


def create_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE, **kwargs: Any) -> AsyncEngine:
    """An async engine; for SQLite, make the folder, enforce foreign keys, use WAL, run
    calls on the event loop with one connection (``LoopSqliteConnection``); otherwise a pool
    that keeps ``pool_size`` connections."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("async_creator", _sqlite_on_loop(database))
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            # WAL with NORMAL: a commit survives a crash of the service (it is in the WAL
            # file); power loss can take the last commits, as it can JetStream's (fsync
            # every 2 minutes by default). FULL fsyncs every commit, on the event loop:
            # measured 19/s against 23-27/s (docs/benchmarks.md).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip at every checkout, a fifth of the benchmark's rate on
    # PostgreSQL (docs/benchmarks.md, finding 15). A connection that died with its server
    # fails its first statement instead; SQLAlchemy then drops the whole pool, and the caller
    # retries as it does for any database error (consumers redeliver, the outbox relay and the
    # sending workers try again, a partner resends after a 5xx). Connections are replaced
    # after 30 minutes, before idle-killing proxies and firewalls drop them silently.
    kwargs.setdefault("pool_size", pool_size)
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 1800)
    return create_async_engine(url, **kwargs)


def engine_of(sessions: async_sessionmaker[Any]) -> AsyncEngine:
    """The engine a session factory is bound to (the autocommit one's, for its factory). For
    adapters whose statements are all core ones: a connection of the engine runs them without
    the ORM session's bookkeeping, about a fifth of a small transaction's CPU
    (docs/benchmarks.md, finding 19)."""
    engine = sessions.kw["bind"]
    if not isinstance(engine, AsyncEngine):
        raise TypeError("the session factory is not bound to an engine")
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Sessions whose every statement commits on its own, for writes that are one statement
    each: no BEGIN and no COMMIT, two round trips fewer on PostgreSQL (where each waited
    10-35 ms for a busy backend in the benchmark). ``session.begin()`` still works and commits
    nothing more. Never for several statements that must succeed or fail together.

    On SQLite, ordinary sessions: BEGIN and COMMIT cost no round trip there, while switching a
    pooled connection to autocommit and back runs a PRAGMA each time (about 6 % of
    inbound-svc's CPU in the benchmark's profile, issue 23)."""
    if engine.dialect.name == "sqlite":
        return session_factory(engine)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


def alembic_config(script_location: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(script_location: str, url: str, revision: str = "head") -> None:
    """Apply migrations (blocking). ``script_location`` is e.g. ``as2bus.config:migrations``."""
    command.upgrade(alembic_config(script_location, url), revision)


def migration_lag(script_location: str) -> Callable[[sa.Connection], str | None]:
    """What a database lacks of this version's migrations, in one sentence, or None when it
    has them all. A revision this version does not know counts as having them: it is a newer
    version's, and during a rolling upgrade the older replicas run on the migrated schema.
    The scripts are read once, here; each call reads the database's alembic_version."""
    script = ScriptDirectory.from_config(alembic_config(script_location, "sqlite://"))
    heads = set(script.get_heads())
    known = {revision.revision for revision in script.walk_revisions()}
    command_name = script_location.split(":")[0].replace(".", "-")  # as2bus-console
    run = f"run `{command_name} migrate` (the migration Job)"

    def lag(connection: sa.Connection) -> str | None:
        current = _current_revisions(connection)
        if not current:
            return f"the database has no schema yet: {run}"
        if (current & known) - heads:
            at, needed = ", ".join(sorted(current)), ", ".join(sorted(heads))
            return f"the database is at migration {at}, this version needs {needed}: {run}"
        return None

    return lag


def _current_revisions(connection: sa.Connection) -> set[str]:
    """The alembic_version rows, read with plain SQL: the readiness check runs every few
    seconds, and Alembic's MigrationContext logs two INFO lines each time it is set up."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return set()
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
    return {str(row[0]) for row in rows}


async def upgrade_database_async(script_location: str, url: str) -> None:
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade_database, script_location, url)


def run_migrations_online(target_metadata: sa.MetaData, url: str) -> None:
    """The body of every service's Alembic ``env.py``."""
    from alembic import context

    async def _run() -> None:
        engine = create_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(_configure_and_run)
        await engine.dispose()

    def _configure_and_run(connection: sa.Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    asyncio.run(_run())
