"""Cross-service fixtures: config-svc, cert-svc and inbound-svc as real processes on one NATS."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from as2bus.shared.crypto import generate_master_key
from as2bus.shared.testing.services import ServiceProcess

TOKEN = "cross-service-token"


@pytest.fixture
def master_key() -> str:
    return generate_master_key()


def start(
    module: str, nats_url: str, db: Path, master_key: str, tmp_path: Path, **extra: str
) -> ServiceProcess:
    env = {
        **extra,
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": master_key,
        "AS2BUS_RELAY_IDLE_SECONDS": "0.2",
    }
    name = module.rsplit(".", 1)[-1]
    return ServiceProcess(module, env, tmp_path / f"{name}.log").start()


def stop(proc: ServiceProcess) -> None:
    # uvicorn re-raises SIGTERM once its graceful shutdown is complete.
    assert proc.stop() in (0, -signal.SIGTERM), proc.log()


@pytest.fixture
def config_svc(nats_url: str, master_key: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = start("as2bus.config", nats_url, tmp_path / "config.db", master_key, tmp_path)
    yield proc
    stop(proc)


@pytest.fixture
def cert_svc(
    nats_url: str, master_key: str, tmp_path: Path, config_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    proc = start("as2bus.cert", nats_url, tmp_path / "cert.db", master_key, tmp_path)
    yield proc
    stop(proc)


def client(proc: ServiceProcess) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=proc.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )


@pytest.fixture
async def config_api(config_svc: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with client(config_svc) as api:
        yield api


@pytest.fixture
async def cert_api(cert_svc: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with client(cert_svc) as api:
        yield api


@pytest.fixture
def inbound_svc(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    proc = start(
        "as2bus.inbound",
        nats_url,
        tmp_path / "inbound.db",
        master_key,
        tmp_path,
        AS2BUS_INBOUND_MAX_BODY_BYTES=str(1024 * 1024),
        AS2BUS_INBOUND_ASYNC_MDN_BACKOFF_SECONDS="0.2",
    )
    yield proc
    stop(proc)
