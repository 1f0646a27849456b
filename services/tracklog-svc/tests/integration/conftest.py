"""Fixtures for tracklog integration tests: real JetStream, both databases, the real process."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from as2bus.contracts import Event
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.bus import open_bus, publish_event
from as2bus.shared.db import create_engine, is_sqlite, upgrade_database
from as2bus.testing.infra import PostgresServer
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until
from as2bus.tracklog.adapters.tables import PROJECTION
from as2bus.tracklog.bootstrap import MIGRATIONS

TOKEN = "tracklog-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def publish(nats_url: str, events: Iterable[Event], *, again: Iterable[Event] = ()) -> None:
    """Publish ``events``; then ``again`` once more under a new Nats-Msg-Id, which JetStream
    cannot drop: the consumer sees a true redelivery of the same event."""
    bus = await open_bus(nats_url, name="tracklog-test")
    try:
        for event in events:
            await publish_event(bus.broker, event)
        for event in again:
            await bus.js.publish(
                event.subject, event.to_bytes(), stream=EVENTS_STREAM,
                headers={"Nats-Msg-Id": f"again-{uuid.uuid4()}"},
            )  # fmt: skip
    finally:
        await bus.close()


@pytest.fixture
async def migrated(database_url: str) -> str:
    await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url)
    return database_url


@pytest.fixture
def second_database_url(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """Another empty database of the same kind, for a rebuild next to the live projection."""
    if is_sqlite(database_url):
        yield f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"r_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    yield server.database_url(name)
    server.drop_database(name)


async def snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every projection row, in key order (processed_events only says when each was applied)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = {}
            for table in PROJECTION:
                key = list(table.primary_key.columns)
                rows = (await conn.execute(sa.select(table).order_by(*key))).mappings()
                tables[table.name] = [dict(row) for row in rows]
            return tables
    finally:
        await engine.dispose()


def service_env(nats_url: str, db_url: str, **extra: str) -> dict[str, str]:
    return {
        "AS2BUS_NATS_URL": nats_url, "AS2BUS_DATABASE_URL": db_url, "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": "", "AS2BUS_TRACKLOG_BATCH_SIZE": "50", **extra,
    }  # fmt: skip


def stop(proc: ServiceProcess) -> None:
    # uvicorn re-raises SIGTERM once its graceful shutdown is complete.
    assert proc.stop() in (0, -signal.SIGTERM), proc.log()
    assert "Application shutdown complete" in proc.log()


@pytest.fixture
def start_service(nats_url: str, tmp_path: Path) -> Iterator[Any]:
    started: list[ServiceProcess] = []

    def start(db_url: str, **extra: str) -> ServiceProcess:
        log = tmp_path / f"tracklog-{len(started)}.log"
        proc = ServiceProcess("as2bus.tracklog", service_env(nats_url, db_url, **extra), log)
        started.append(proc.start())
        return proc

    yield start
    for proc in started:
        proc.stop()


async def wait_applied(api: httpx.AsyncClient, count: int, timeout: float = 15) -> None:
    """Until the service has applied ``count`` events and has none waiting."""

    async def applied() -> bool:
        status = (await api.get("/api/v1/projection")).json()
        assert status["events_applied"] >= count, status
        assert status["pending"] == 0, status
        return True

    await until(applied, what=f"{count} events applied", timeout=timeout, interval=0.1)


@pytest.fixture
async def client() -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(proc: ServiceProcess, *, token: bool = True) -> httpx.AsyncClient:
        made = httpx.AsyncClient(base_url=proc.base_url, headers=AUTH if token else {})
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()
