"""A partner we did not write (the openssl CLI) sends to inbound-svc, with config-svc and
cert-svc as real processes: the document lands on the bus once, the signed MDN verifies with
openssl and carries the right MIC; duplicates, tampering and strangers are answered properly."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext

from as2bus.contracts import DocumentRef
from as2bus.contracts.documents import documents_bucket
from as2bus.shared.bus.documents import DocumentStore
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, stream_events

from .conftest import partnership_with_keys, start_inbound, stop
from .partner_openssl import OpensslPartner

PAYLOAD = (
    b"ISA*00*          *00*          *ZZ*ACME           *ZZ*MYCO           ~\r\nST*850*0001~\r\n"
    * 20
)


@pytest.fixture(params=["in-memory"])
def inbound_svc(
    request: pytest.FixtureRequest,
    nats_url: str,
    master_key: str,
    tmp_path: Path,
    cert_svc: ServiceProcess,
) -> Iterator[ServiceProcess]:
    """Bodies read into memory; a test parametrized with ``spooled`` also runs with every
    body spooled to a file and read from there (as bodies over AS2BUS_INBOUND_SPOOL_BYTES
    are). The codec reads both with one parser, so the delivery path is what runs twice."""
    spool = {"AS2BUS_INBOUND_SPOOL_BYTES": "0"} if request.param == "spooled" else {}
    proc = start_inbound(nats_url, master_key, tmp_path, **spool)
    yield proc
    stop(proc)


@pytest.fixture
async def partner(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, tmp_path: Path
) -> OpensslPartner:
    ours, theirs = await partnership_with_keys(config_svc, cert_svc)
    return OpensslPartner(tmp_path, "acme", ours, theirs)


@pytest.fixture
async def js(nats_url: str) -> Any:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


async def post(inbound: ServiceProcess, headers: dict[str, str], body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=inbound.base_url, timeout=30) as http:
        # No retry on unknown-trading-partner: inbound-svc catches up with the configuration
        # itself before it says so (ConfigReplica.catch_up).
        return await http.post("/as2", headers=headers, content=body)


def report_fields(report: bytes) -> dict[str, str]:
    """The message/disposition-notification part of an MDN report, as header fields."""
    message = email.message_from_bytes(report)
    for part in message.walk():
        if part.get_content_type() == "message/disposition-notification":
            payload = part.get_payload()
            first = payload[0] if isinstance(payload, list) else payload
            text = first.as_string() if isinstance(first, Message) else str(first)
            # Field names are case-insensitive (pyas2lib writes "Received-content-MIC").
            return {k.lower(): v for k, v in email.message_from_string(text).items()}
    raise AssertionError(f"no disposition-notification in {report[:300]!r}")


@pytest.mark.parametrize("inbound_svc", ["in-memory", "spooled"], indirect=True)
async def test_an_openssl_partner_is_received_once_with_a_verifiable_signed_mdn(
    inbound_svc: ServiceProcess, partner: OpensslPartner, js: JetStreamContext
) -> None:
    body, expected_mic = partner.signed_and_encrypted(PAYLOAD)
    headers = partner.headers("MYCO")
    response = await post(inbound_svc, headers, body)
    assert response.status_code == 200, response.text
    report = partner.verify_mdn(response.headers["content-type"], response.content)
    fields = report_fields(report)
    assert "processed" in fields["disposition"]
    assert "error" not in fields["disposition"]
    assert fields["received-content-mic"].split(",")[0].strip() == expected_mic
    assert fields["original-message-id"] == headers["Message-ID"]

    received = await events_of(js, "MessageReceived")
    assert len(received) == 1
    data = received[0]["data"]
    assert (data["station"], data["partner"], data["signed"], data["encrypted"]) == (
        "MYCO",
        "acme",
        True,
        True,
    )
    document = await DocumentStore(await documents_bucket(js), js).get(
        DocumentRef(**data["document"])
    )
    assert document == PAYLOAD
    assert (await events_of(js, "MdnSent"))[0]["data"]["disposition"] == "processed"

    again = await post(inbound_svc, headers, body)  # the partner resends the same Message-ID
    assert again.status_code == 200
    repeat = report_fields(partner.verify_mdn(again.headers["content-type"], again.content))
    assert "processed" in repeat["disposition"]
    await events_of(js, "MessageDuplicate")
    assert len([e for e in await stream_events(js) if e["event_type"] == "MessageReceived"]) == 1


async def test_tampering_and_strangers_get_negative_answers_and_deliver_nothing(
    inbound_svc: ServiceProcess, partner: OpensslPartner, js: JetStreamContext
) -> None:
    body, _ = partner.signed_and_encrypted(PAYLOAD)
    tampered = body[:-40] + bytes(b ^ 0xFF for b in body[-40:])
    response = await post(inbound_svc, partner.headers("MYCO"), tampered)
    fields = report_fields(partner.verify_mdn(response.headers["content-type"], response.content))
    assert "failed" in fields["disposition"] or "error" in fields["disposition"]
    assert (
        "decryption-failed" in fields["disposition"]
        or "unexpected-processing-error" in fields["disposition"]
    )

    # A stranger asking for an async MDN at an address of its choosing gets no POST from us.
    ssrf = {**partner.headers("MYCO"), "AS2-From": "mallory"}
    ssrf["Receipt-Delivery-Option"] = "http://127.0.0.1:9/an-internal-service"
    refused = await post(inbound_svc, ssrf, body)
    assert refused.status_code == 403
    assert b"unknown-trading-partner" in refused.content

    stranger = {**partner.headers("MYCO"), "AS2-From": "mallory"}
    stranger.pop("Disposition-Notification-To")
    answer = await post(inbound_svc, stranger, body)
    assert answer.status_code == 403
    assert b"unknown-trading-partner" in answer.content

    rejected = await events_of(js, "MessageRejected", count=3)
    assert {e["data"]["modifier"] for e in rejected} >= {"unknown-trading-partner"}
    assert all(e["data"]["code"] == e["data"]["modifier"] for e in rejected)
    assert not [e for e in await stream_events(js) if e["event_type"] == "MessageReceived"]


async def test_limits_give_clear_http_errors(inbound_svc: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=inbound_svc.base_url) as http:
        too_big = await http.post("/as2", content=b"x" * (1024 * 1024 + 1))
        assert too_big.status_code == 413
        not_as2 = await http.post("/as2", content=b"hello")
        assert not_as2.status_code == 400
        assert b"AS2-From" in not_as2.content
