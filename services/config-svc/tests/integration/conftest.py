"""Fixtures for config-svc integration tests: a migrated database, the real service process."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.bootstrap import MIGRATIONS
from as2bus.config.service import ConfigService
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.crypto import SecretBox, generate_master_key
from as2bus.shared.db import create_engine, session_factory, upgrade_database
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import stream_messages, until

TOKEN = "test-admin-token-0123456789"
SECRET = "hunter2-very-secret"


@pytest.fixture
def master_key() -> str:
    return generate_master_key()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def service(sessions: async_sessionmaker[AsyncSession], master_key: str) -> ConfigService:
    """The use cases on a real database, without a relay (the outbox just fills up)."""
    return ConfigService(sessions, SecretBox(master_key))


def service_env(nats_url: str, db_url: str, master_key: str) -> dict[str, str]:
    return {
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": db_url,
        "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": master_key,
        "AS2BUS_RELAY_IDLE_SECONDS": "0.2",
    }


@pytest.fixture
def config_svc(
    nats_url: str, sqlite_url: str, master_key: str, tmp_path: Path
) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        "as2bus.config", service_env(nats_url, sqlite_url, master_key), tmp_path / "config.log"
    ).start()
    yield proc
    # uvicorn re-raises SIGTERM once its graceful shutdown is complete.
    assert proc.stop() in (0, -signal.SIGTERM), proc.log()
    assert "Application shutdown complete" in proc.log()


@pytest.fixture
async def api(config_svc: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=config_svc.base_url, headers=headers) as client:
        yield client


@pytest.fixture
def config_on_db(
    nats_url: str, database_url: str, master_key: str, tmp_path: Path
) -> Iterator[ServiceProcess]:
    """config-svc on the database of the test's parameter (sqlite, postgresql)."""
    env = service_env(nats_url, database_url, master_key)
    proc = ServiceProcess("as2bus.config", env, tmp_path / "config.log").start()
    yield proc
    assert proc.stop() in (0, -signal.SIGTERM), proc.log()


@pytest.fixture
async def api_on_db(config_on_db: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=config_on_db.base_url, headers=headers) as client:
        yield client


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


async def wait_for_events(js: JetStreamContext, count: int, timeout: float = 10) -> list[Any]:
    """Every message on the events stream once there are at least ``count`` of them."""

    async def stored() -> int:
        total = (await js.stream_info(EVENTS_STREAM)).state.messages
        assert total >= count, f"the stream holds {total}"
        return total

    await until(stored, what=f"{count} events on {EVENTS_STREAM}", timeout=timeout)
    return await stream_messages(js)


def payloads(messages: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(m.data) for m in messages]
