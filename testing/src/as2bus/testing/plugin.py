"""pytest plugin: real NATS JetStream and PostgreSQL for integration tests.

Loaded from the root conftest.py (`pytest_plugins = ["as2bus.testing.plugin"]`).
Servers are per session and started only when a test asks for them; isolation comes from
wiping JetStream before each test and from giving each test its own database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from as2bus.testing.infra import (
    NATS_IMAGE,
    PG_IMAGE,
    LocalNats,
    NatsServer,
    PostgresServer,
    backend_setting,
    docker_available,
    find_nats_server,
    find_pg_bindir,
    run_sync,
    start_nats,
    start_postgres,
    wipe_jetstream,
)


def pytest_report_header(config: pytest.Config) -> str:
    """Say up front which backend the run will use (nothing is started here)."""
    if backend_setting() == "auto":
        engine = "docker engine: " + ("yes" if docker_available() else "no")
    else:
        engine = f"forced by AS2BUS_TEST_BACKEND={backend_setting()}"
    if docker_available():
        plan = f"nats: docker {NATS_IMAGE}, postgres: docker {PG_IMAGE}"
    else:
        nats = find_nats_server() or "NOT FOUND, run uv sync"
        pg = find_pg_bindir() or "NOT FOUND, run scripts/ensure-postgres.sh"
        plan = f"nats: local nats-server ({nats}), postgres: local ({pg})"
    return f"as2bus infra: {engine} -> {plan}"


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    server = start_nats()
    yield server
    server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    """URL of the session's NATS server, with JetStream emptied so the test starts clean."""
    url = nats_server.url
    run_sync(lambda: wipe_jetstream(url))  # own thread + loop: the test's loop may be running
    return url


@pytest.fixture
def restartable_nats() -> Iterator[LocalNats]:
    """A nats-server of the test's own (local binary), which the test may `restart()`."""
    server = LocalNats()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL (asyncpg driver) of a fresh, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    yield postgres_server.database_url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


_DATABASE_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}


@pytest.fixture(params=list(_DATABASE_FIXTURES), ids=list(_DATABASE_FIXTURES))
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the requesting test once per database; narrow it with
    `@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)`."""
    if request.param not in _DATABASE_FIXTURES:
        raise ValueError(f"database_url: {request.param!r} not in {list(_DATABASE_FIXTURES)}")
    return str(request.getfixturevalue(_DATABASE_FIXTURES[request.param]))
