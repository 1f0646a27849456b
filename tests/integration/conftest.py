"""Cross-service fixtures: config-svc, cert-svc and inbound-svc as real processes on one NATS."""

from __future__ import annotations

import shutil
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from as2bus.cert import x509
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import until

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


#: The tests' partners (and their async MDN URLs) are on loopback: a private use, allowed
#: as `as2bus up` allows it for its demo (docs/operations.md).
LOOPBACK_MDNS = {"AS2BUS_INBOUND_ASYNC_MDN_ALLOWED_NETWORKS": '["127.0.0.0/8", "::1/128"]'}


def start_inbound(nats_url: str, master_key: str, tmp_path: Path, **extra: str) -> ServiceProcess:
    """inbound-svc with the tests' settings (a 1 MiB body limit, fast async MDN retries, MDNs
    allowed to loopback); ``extra`` adds or overrides environment variables."""
    settings = {
        "AS2BUS_INBOUND_MAX_BODY_BYTES": str(1024 * 1024),
        "AS2BUS_INBOUND_ASYNC_MDN_BACKOFF_SECONDS": "0.2",
        **LOOPBACK_MDNS,
        **extra,
    }
    return start(
        "as2bus.inbound", nats_url, tmp_path / "inbound.db", master_key, tmp_path, **settings
    )


def start_outbound(nats_url: str, master_key: str, tmp_path: Path, **extra: str) -> ServiceProcess:
    settings = {"AS2BUS_OUTBOUND_BACKOFF_SECONDS": "0.2", **extra}
    return start(
        "as2bus.outbound", nats_url, tmp_path / "outbound.db", master_key, tmp_path, **settings
    )


@pytest.fixture
def inbound_svc(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    proc = start_inbound(nats_url, master_key, tmp_path)
    yield proc
    stop(proc)


async def partnership_with_keys(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    *,
    expired_partner_cert: bool = False,
    replay_protection: bool | None = None,
) -> tuple[bytes, x509.OwnKey]:
    """MYCO (us) paired with acme, certificates exchanged both ways: (our cert PEM, acme's key).
    ``replay_protection``: acme's setting (None: config-svc's default for a new partner)."""
    partner: dict[str, object] = {
        "as2_id": "acme", "name": "Acme", "as2_url": "http://127.0.0.1:9/as2"
    }  # fmt: skip
    if replay_protection is not None:
        partner["replay_protection"] = replay_protection
    async with client(config_svc) as config, client(cert_svc) as certs:
        station = await config.post("/api/v1/stations", json={"as2_id": "MYCO", "name": "Me"})
        acme = await config.post("/api/v1/partners", json=partner)
        link = {"station_id": station.json()["id"], "partner_id": acme.json()["id"]}
        assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201
        ours = await certs.post("/api/v1/certificates/own", json={"alias": "myco"})
        assert ours.status_code == 201, ours.text
        issued = datetime.now(UTC) - (timedelta(days=10) if expired_partner_cert else timedelta(0))
        theirs = x509.generate_self_signed(
            "acme", now=issued, validity_days=1 if expired_partner_cert else 365
        )
        upload = await certs.post(
            "/api/v1/certificates/partner",
            data={"alias": "acme", "allow_invalid_dates": str(expired_partner_cert).lower()},
            files={"file": ("acme.cer", theirs.cert.cert_pem.encode())},
        )
        assert upload.status_code == 201, upload.text
    return ours.json()["cert_pem"].encode(), theirs


@pytest.fixture
def outbound_svc(
    nats_url: str, master_key: str, tmp_path: Path, inbound_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    proc = start_outbound(
        nats_url,
        master_key,
        tmp_path,
        AS2BUS_OUTBOUND_ASYNC_MDN_URL=f"{inbound_svc.base_url}/as2",
    )
    yield proc
    stop(proc)


@pytest.fixture
def tracklog_svc(nats_url: str, master_key: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = start("as2bus.tracklog", nats_url, tmp_path / "tracklog.db", master_key, tmp_path)
    yield proc
    stop(proc)


async def tracked(
    proc: ServiceProcess, want: int, timeout: float = 20, **filters: str
) -> list[dict[str, Any]]:
    """tracklog-svc's list of messages, once it holds ``want`` (at least 1) of them (by
    ``filters``)."""
    async with client(proc) as api:

        async def held() -> list[dict[str, Any]]:
            page = (await api.get("/api/v1/messages", params=filters)).json()
            assert len(page["items"]) >= want, page
            return list(page["items"])

        what = f"tracklog-svc to hold {want} messages for {filters}"
        return await until(held, what=what, timeout=timeout, interval=0.2)


@pytest.fixture
def partner_servers() -> Iterator[list[Any]]:
    """Test partner web servers (uvicorn in a thread) to shut down after the test, and their
    working directories (which hold their private keys) to remove."""
    servers: list[Any] = []
    yield servers
    for server in servers:
        server.server.should_exit = True
        server.thread.join(timeout=10)
        if (workdir := getattr(server, "dir", None)) is not None:  # the openssl partners'
            shutil.rmtree(workdir, ignore_errors=True)
