"""Migration drift: do a service's Alembic migrations build exactly the tables its code declares?

``migration_drift`` migrates an empty database to head and returns what Alembic's autogenerate
would still write to reach the declared metadata (tables, columns, types, nullability, server
defaults, indexes, unique and foreign keys): ``[]`` when migrations and code agree. Each service's
``tests/integration/test_migrations.py`` asserts that on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from as2bus.shared.db import create_engine, upgrade_database


def schema_differences(connection: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    """What autogenerate finds between the database at ``connection`` and ``metadata``, in its
    own form (``("add_column", ...)``, ``[("modify_nullable", ...)]``...); ``[]`` when none."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata))


async def migration_drift(migrations: str, url: str, metadata: sa.MetaData) -> list[Any]:
    """Upgrade the empty database at ``url`` to head with ``migrations`` (a script location,
    e.g. ``as2bus.cert:migrations``), then its ``schema_differences`` from ``metadata``."""
    # Alembic's env.py runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade_database, migrations, url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(schema_differences, metadata)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    """The tables the database at ``url`` holds (Alembic's own version table among them)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def table_columns(url: str, table: str) -> dict[str, Any]:
    """The columns of ``table`` in the database at ``url`` as SQLAlchemy reflects them, by
    name (each a dict: ``type``, ``nullable``, ``default``...)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda c: sa.inspect(c).get_columns(table))
    finally:
        await engine.dispose()
    return {column["name"]: column for column in found}
