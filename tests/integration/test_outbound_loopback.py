"""outbound-svc sends through the whole gateway and back: station A sends to partner "B"
whose URL is our own inbound endpoint, where B is a station and A a partner. Every service
is a real process; the document goes out signed and encrypted and comes back with a signed
MDN whose MIC outbound checks."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from as2bus.contracts import DocumentRef
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.send import send_document
from as2bus.shared.bus.documents import DocumentStore
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, nothing_within

from .conftest import client, tracked

DOCUMENT = b"ISA*00*          *00*          *ZZ*A              *ZZ*B~\r\nST*850*0001~\r\n" * 50


@pytest.fixture
async def nc(nats_url: str) -> Any:
    connection = await nats.connect(nats_url)
    yield connection
    await connection.close()


async def loopback(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, inbound: str, mdn: str
) -> None:
    async with client(config_svc) as config, client(cert_svc) as certs:
        stations, partners = {}, {}
        for name in ("A", "B"):
            stations[name] = (
                await config.post("/api/v1/stations", json={"as2_id": name, "name": name})
            ).json()
            own = await certs.post(
                "/api/v1/certificates/own", json={"alias": stations[name]["private_key_alias"]}
            )
            assert own.status_code == 201, own.text
            body = {"as2_id": name, "name": name, "as2_url": inbound, "mdn_mode": mdn,
                    "default_subject": f"Orders for {name}"}  # fmt: skip
            if mdn == "async":
                body["async_mdn_url"] = inbound
            partners[name] = (await config.post("/api/v1/partners", json=body)).json()
            upload = await certs.post(
                "/api/v1/certificates/partner",
                data={"alias": partners[name]["as2_alias"]},
                files={"file": (f"{name}.cer", own.json()["cert_pem"].encode())},
            )
            assert upload.status_code == 201, upload.text
        for station, partner in (("A", "B"), ("B", "A")):
            link = {"station_id": stations[station]["id"], "partner_id": partners[partner]["id"]}
            assert (await config.post("/api/v1/partnerships", json=link)).status_code == 201


@pytest.mark.parametrize("mdn", ["sync", "async"])
async def test_a_send_request_is_delivered_through_the_gateway_with_a_checked_mdn(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    outbound_svc: ServiceProcess,
    tracklog_svc: ServiceProcess,
    nc: Any,
    mdn: str,
    tmp_path: Path,
) -> None:
    await loopback(config_svc, cert_svc, f"{inbound_svc.base_url}/as2", mdn)
    # its readiness covers its background loops (the send loop, the outbox relay) too
    ready = httpx.get(f"{outbound_svc.base_url}/readyz", timeout=5).json()
    assert ready["checks"] == {"database": "ok", "nats": "ok", "loops": "ok"}
    request = await send_document(nc, DOCUMENT, station="A", partner="B", filename="po.x12")
    js = nc.jetstream()
    queued = (await events_of(js, "MessageQueued"))[0]["data"]
    assert queued["request_id"] == request.request_id
    report = (await events_of(js, "MdnReceived"))[0]["data"]
    assert report["original_message_id"] == queued["message_id"]
    assert (report["disposition"], report["signed"], report["signature_valid"]) == (
        "processed",
        True,
        True,
    )
    assert report["mode"] == mdn
    # The MDN as received is kept, headers and body byte for byte (the record of the receipt).
    record_store = DocumentStore(await documents_bucket(js), js)
    record = await record_store.get(DocumentRef(**report["raw"]))
    head, _, _body = record.partition(b"\r\n\r\n")
    assert b"multipart/signed" in head.lower()
    if mdn == "sync":
        assert report["mic_matches"] is True
    received = (await events_of(js, "MessageReceived"))[0]["data"]
    assert (received["station"], received["partner"], received["filename"]) == ("B", "A", "po.x12")
    assert received["subject"] == "Orders for B"  # the request named none: B's default
    store = DocumentStore(await documents_bucket(js), js)
    assert await store.get(DocumentRef(**received["document"])) == DOCUMENT
    assert not await events_of(js, "MessageFailed", "MessageRejected", count=0)
    # The one terminal event says all a publisher needs, with its request id.
    (delivered,) = [e["data"] for e in await events_of(js, "MessageDelivered")]
    assert (delivered["request_id"], delivered["message_id"]) == (
        request.request_id,
        queued["message_id"],
    )
    assert (delivered["status"], delivered["mdn"]["mode"]) == ("delivered", mdn)
    assert (delivered["mdn"]["signature_valid"], delivered["mdn"]["mic_matches"]) == (True, True)

    # The same request id again: nothing new goes to the partner.
    await send_document(
        nc, DOCUMENT, station="A", partner="B", filename="po.x12", request_id=request.request_id
    )

    async def sent_again() -> list[dict[str, Any]]:
        return (await events_of(js, "MessageSent", count=0))[1:]

    # A wrong second send would take about what the first took (well under 2 s here); that
    # none comes can only be watched for a while.
    await nothing_within(2, sent_again, what="a second MessageSent", interval=0.2)
    assert len(await events_of(js, "MessageSent")) == 1
    async with httpx.AsyncClient(base_url=outbound_svc.base_url) as http:
        metrics = (await http.get("/metrics")).text
    assert 'as2bus_outbound_attempts_total{partner="B"} 1.0' in metrics

    # What an operator sees in tracklog-svc: both sides of the exchange, and the timeline.
    (outbound,) = await tracked(tracklog_svc, 1, direction="outbound", status="delivered")
    (inbound,) = await tracked(tracklog_svc, 1, direction="inbound", status="mdn-sent")
    assert outbound["message_id"] == inbound["message_id"] == queued["message_id"]
    assert (outbound["partner"], inbound["partner"]) == ("B", "A")
    async with client(tracklog_svc) as api:
        detail = (await api.get(f"/api/v1/messages/{outbound['id']}")).json()
    kinds = [entry["event_type"] for entry in detail["timeline"]]
    assert kinds == [
        "MessageQueued",
        "AttemptStarted",
        "MessageSent",
        "MdnReceived",
        "MessageDelivered",
    ]
    assert (detail["mdn_disposition"], detail["signature"]) == ("processed", "valid")

    # The small document was kept in outbound-svc's row, never in the object store, and stays
    # there after the message settled (for downloads and resends, until the retention ends).
    with contextlib.closing(sqlite3.connect(tmp_path / "outbound.db")) as db:
        row = db.execute("SELECT status, document, content FROM messages").fetchall()
    assert row == [("delivered", None, DOCUMENT)]
    assert queued["document"] is None


async def test_requests_that_cannot_succeed_are_rejected_with_a_reason(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    outbound_svc: ServiceProcess,
    tracklog_svc: ServiceProcess,
    nc: Any,
) -> None:
    await loopback(config_svc, cert_svc, f"{inbound_svc.base_url}/as2", "sync")
    await send_document(nc, b"x", station="A", partner="nobody")
    await nc.jetstream().publish("as2.cmd.send", b'{"request_id": "broken"}', stream="AS2_COMMANDS")
    rejected = [e["data"] for e in await events_of(nc.jetstream(), "MessageRejected", count=2)]
    reasons = {r["modifier"]: r["reason"] for r in rejected}
    assert reasons["UNKNOWN_PARTNERSHIP"] == "we have no partner 'nobody'"
    assert "INVALID_REQUEST" in reasons
    (shown,) = await tracked(tracklog_svc, 1, partner="nobody")
    assert (shown["status"], shown["error_code"]) == ("rejected", "UNKNOWN_PARTNERSHIP")


async def test_the_same_document_sent_twice_at_once_is_delivered_twice(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    outbound_svc: ServiceProcess,
    nc: Any,
) -> None:
    """Two send requests of the same bytes, published together, are signed within the same
    second. Replay protection (on for new partners) delivers a signature once; each message's
    signed entity has its own Content-ID, so neither is held back as a replay of the other."""
    await loopback(config_svc, cert_svc, f"{inbound_svc.base_url}/as2", "sync")
    for _ in range(2):
        await send_document(nc, DOCUMENT, station="A", partner="B", filename="po.x12")
    js = nc.jetstream()
    delivered = [e["data"] for e in await events_of(js, "MessageDelivered", count=2, timeout=20)]
    assert len({d["message_id"] for d in delivered}) == 2
    received = await events_of(js, "MessageReceived", count=2)
    assert len({e["data"]["message_id"] for e in received}) == 2
    assert not await events_of(js, "MessageDuplicate", "MessageRejected", count=0)
