"""Readiness waits for the database's migrations (where a Job runs them, the service may start
first): a real SQLite database, empty, then behind this version's last migration, then at it.
The app is driven without its lifespan, which would migrate the database itself."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from as2bus.console.bootstrap import MIGRATIONS, assemble
from as2bus.console.settings import ConsoleSettings
from as2bus.shared.db import upgrade_database

from .conftest import TOKEN, client


async def _database_check(app: Any) -> tuple[int, str]:
    async with client(app) as http:
        answer = await http.get("/readyz")
    return answer.status_code, answer.json()["checks"]["database"]


async def test_not_ready_until_the_database_has_this_versions_migrations(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    settings = {"database_url": url, "api_token": TOKEN, "auto_migrate": False}
    app, _ = assemble(ConsoleSettings.model_validate(settings))

    run = "run `as2bus-console migrate` (the migration Job)"
    empty = f"failing: NotMigratedError: the database has no schema yet: {run}"
    assert await _database_check(app) == (503, empty)
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url, "0002")  # one version back
    at = "the database is at migration 0002, this version needs 0004"
    behind = f"failing: NotMigratedError: {at}: {run}"
    assert await _database_check(app) == (503, behind)
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    status, database = await _database_check(app)
    assert database == "ok"
    assert status == 503  # NATS: the lifespan that connects it did not run


async def test_a_newer_versions_migration_keeps_an_older_replica_ready(tmp_path: Path) -> None:
    """During a rolling upgrade the Job migrates first; the old replicas keep working."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    app, _ = assemble(ConsoleSettings.model_validate({"database_url": url, "api_token": TOKEN}))
    with sa.create_engine(f"sqlite:///{tmp_path / 'console.db'}").begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    assert (await _database_check(app))[1] == "ok"


async def test_the_check_says_nothing_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It runs every few seconds: through Alembic's MigrationContext it logged "Context impl
    SQLiteImpl." and "Will assume non-transactional DDL." each time, for every service."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    await asyncio.to_thread(upgrade_database, MIGRATIONS, url)
    app, _ = assemble(ConsoleSettings.model_validate({"database_url": url, "api_token": TOKEN}))
    caplog.clear()
    caplog.set_level(logging.INFO, logger="alembic")
    for _ in range(3):
        assert (await _database_check(app))[1] == "ok"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []
