"""Our outbound-svc sends to our own inbound-svc over HTTPS with mutual TLS, every service a
real process. The loopback partners' TLS settings, set through config-svc's API, trust the
private CA of inbound-svc's certificate, pin that certificate, present our key of the
partnership (the station's, as cert-svc holds it) and require it on receipt. A sync and an
async exchange are delivered, the async MDN POSTed back over the same HTTPS with inbound-svc's
client certificate; with a wrong pin a message fails at once, in words, and inbound-svc
receives nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from as2bus.contracts import SendOverrides
from as2bus.contracts.send import send_document
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import PrivateCa, certificate_sha256, write_pair
from as2bus.testing.waiting import events_of, nothing_within

from .conftest import LOOPBACK_MDNS, TOKEN, client, start_outbound, stop

SERVER_CA = PrivateCa("inbound-svc's CA")
SERVER = SERVER_CA.issue()  # for 127.0.0.1
DOCUMENT = b"ISA*00*          *00*          *ZZ*A              *ZZ*B~\r\n"


@pytest.fixture
def inbound_https(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    key_file, cert_file = write_pair(tmp_path, "inbound", SERVER)
    ca_file = tmp_path / "server-ca.pem"
    ca_file.write_bytes(SERVER_CA.cert_pem)
    env = {
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}",
        "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": master_key,
        "AS2BUS_INBOUND_ASYNC_MDN_BACKOFF_SECONDS": "0.2",
        "AS2BUS_INBOUND_TLS_CERT_FILE": str(cert_file),
        "AS2BUS_INBOUND_TLS_KEY_FILE": str(key_file),
        **LOOPBACK_MDNS,
    }
    proc = ServiceProcess("as2bus.inbound", env, tmp_path / "inbound.log", tls_ca=ca_file)
    yield proc.start()
    stop(proc)


@pytest.fixture
def outbound(
    nats_url: str, master_key: str, tmp_path: Path, inbound_https: ServiceProcess
) -> Iterator[ServiceProcess]:
    url = f"{inbound_https.base_url}/as2"
    proc = start_outbound(nats_url, master_key, tmp_path, AS2BUS_OUTBOUND_ASYNC_MDN_URL=url)
    yield proc
    stop(proc)


@pytest.fixture
async def nc(nats_url: str) -> Any:
    connection = await nats.connect(nats_url)
    yield connection
    await connection.close()


async def mutual_tls_loopback(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, url: str
) -> None:
    """Stations A and B, partners A and B (and C, with a wrong pin) at inbound-svc's URL:
    A sends to B (and C), B answers A."""
    async with client(config_svc) as config, client(cert_svc) as certs:
        stations, ours = {}, {}
        for name in ("A", "B"):
            station = await config.post("/api/v1/stations", json={"as2_id": name, "name": name})
            stations[name] = station.json()["id"]
            alias = station.json()["private_key_alias"]
            assert (await certs.post("/api/v1/certificates/own", json={"alias": alias})).is_success
            (own,) = (await certs.get("/api/v1/certificates", params={"alias": alias})).json()
            ours[name] = own["cert_pem"]
        pin = certificate_sha256(SERVER[1])
        for name in ("A", "B", "C"):
            holder = "B" if name == "C" else name  # the station it plays (C: none, B's key)
            tls = {
                "ca_bundle_pem": SERVER_CA.cert_pem.decode(),
                "pinned_sha256": [pin if name != "C" else "ab" * 32],
                "client_certificate": True,
                "require_client_certificate": True,
                "client_certificates_pem": ours[holder],
            }
            body = {"as2_id": name, "name": name, "as2_url": url, "mdn_mode": "sync", "tls": tls}
            partner = await config.post("/api/v1/partners", json=body)
            assert partner.status_code == 201, partner.text
            upload = await certs.post(
                "/api/v1/certificates/partner",
                data={"alias": partner.json()["as2_alias"]},
                files={"file": (f"{name}.cer", ours[holder].encode())},
            )
            assert upload.status_code == 201, upload.text
            station = stations["B" if name == "A" else "A"]
            link = {"station_id": station, "partner_id": partner.json()["id"]}
            assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201


@pytest.fixture
async def loopback(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_https: ServiceProcess,
    outbound: ServiceProcess,
    tracklog_svc: ServiceProcess,
) -> ServiceProcess:
    """The stack with the HTTPS loopback partnerships set up; inbound-svc, for its URL."""
    await mutual_tls_loopback(config_svc, cert_svc, f"{inbound_https.base_url}/as2")
    return inbound_https


async def test_outbound_sends_to_inbound_over_https_with_mutual_tls_and_pins(
    loopback: ServiceProcess, nc: Any
) -> None:
    inbound_https = loopback
    js = nc.jetstream()
    # (a) a sync MDN, (b) an async one, POSTed back to inbound-svc over HTTPS
    await send_document(nc, DOCUMENT, station="A", partner="B")
    await events_of(js, "MessageDelivered")
    async_mdn = SendOverrides(mdn_mode="async")  # another document: replay protection
    await send_document(nc, DOCUMENT * 2, station="A", partner="B", overrides=async_mdn)
    delivered = [e["data"] for e in await events_of(js, "MessageDelivered", count=2)]
    assert [d["mdn"]["mode"] for d in delivered] == ["sync", "async"]
    assert all(d["mdn"]["signature_valid"] and d["mdn"]["mic_matches"] for d in delivered)
    (mdn,) = [e["data"] for e in await events_of(js, "MdnSent", count=2)][1:]
    assert (mdn["mode"], mdn["delivered"], mdn["attempts"]) == ("async", True, 1)
    received = await events_of(js, "MessageReceived", count=2)

    # (c) a pin that is not inbound-svc's certificate's: no retry, not one byte of the message
    await send_document(nc, DOCUMENT, station="A", partner="C")
    (failed,) = [e["data"] for e in await events_of(js, "MessageFailed")]
    url = f"{inbound_https.base_url}/as2"
    assert failed["attempts"] == 1
    assert failed["reason"].startswith(
        f"TLS: the partner's certificate (SHA-256 {certificate_sha256(SERVER[1])}) matches "
        f"none of the pinned ones ({url}); not retried"
    ), failed["reason"]

    async def more_received() -> list[dict[str, Any]]:
        return (await events_of(js, "MessageReceived", "MessageRejected", count=0))[2:]

    await nothing_within(1, more_received, what="inbound-svc hearing of message C", interval=0.2)
    assert len(received) == 2
    assert not await events_of(js, "MessageRejected", count=0)


async def test_inbound_stops_at_once_right_after_an_async_mdn_to_itself_over_https(
    loopback: ServiceProcess, nc: Any
) -> None:
    """inbound-svc keeps its async MDN connections while MDNs keep coming. One kept to itself
    over TLS would hold its graceful stop until asyncio gave up the TLS shutdown (30 s): the
    delivery loop closes it within a second or two of the stop, while uvicorn waits."""
    js = nc.jetstream()
    async_mdn = SendOverrides(mdn_mode="async")
    await send_document(nc, DOCUMENT, station="A", partner="B", overrides=async_mdn)
    (mdn,) = [e["data"] for e in await events_of(js, "MdnSent", count=1)]
    assert (mdn["mode"], mdn["delivered"]) == ("async", True)
    started = time.monotonic()
    stop(loopback)  # at once: the MDN's connection to inbound-svc is still kept
    assert time.monotonic() - started < 8, loopback.log()
