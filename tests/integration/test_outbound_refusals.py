"""Requests that cannot succeed are refused before anything is sent, with a reason a person
can act on; a partner's own retry maximum is honoured."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from as2bus.cert import x509
from as2bus.contracts import SEND_SUBJECT, DocumentRef, SendOverrides, SendRequest
from as2bus.contracts.send import publish_send_request, send_document
from as2bus.contracts.subjects import COMMANDS_STREAM
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of

from .conftest import client, start_outbound, stop
from .test_outbound_partners import EDI, PartnerServer, set_up


@pytest.fixture
def outbound_without_mdn_url(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> Iterator[ServiceProcess]:
    """outbound-svc with no AS2BUS_OUTBOUND_ASYNC_MDN_URL (as `as2bus up` runs it unless set)."""
    proc = start_outbound(nats_url, master_key, tmp_path)
    yield proc
    stop(proc)


async def partner_id(config_svc: ServiceProcess, as2_id: str) -> str:
    async with client(config_svc) as config:
        return str(
            (await config.get("/api/v1/partners", params={"as2_id": as2_id})).json()[0]["id"]
        )


async def test_refusals_and_a_partners_own_retry_maximum(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    outbound_without_mdn_url: ServiceProcess,
    nats_url: str,
    partner_servers: list[Any],
) -> None:
    server: PartnerServer = await set_up(config_svc, cert_svc)
    partner_servers.append(server)
    server.flaky_failures = 5
    flaky = await partner_id(config_svc, "flaky")
    async with client(config_svc) as config, client(cert_svc) as certs:
        assert (
            await config.patch(f"/api/v1/partners/{flaky}", json={"max_attempts": 1})
        ).status_code == 200
        # The "rate" partner's only certificate is replaced by an expired one.
        switch = datetime.now(UTC) - timedelta(minutes=1)
        old = x509.generate_self_signed(
            "old", now=datetime.now(UTC) - timedelta(days=10), validity_days=1
        )
        rate_alias = (
            await config.get(f"/api/v1/partners/{await partner_id(config_svc, 'rate')}")
        ).json()["as2_alias"]
        upload = await certs.post(
            "/api/v1/certificates/partner",
            data={
                "alias": rate_alias,
                "allow_invalid_dates": "true",
                "activation_at": switch.isoformat(),
                "retire_previous_at": switch.isoformat(),
            },
            files={"file": ("old.cer", old.cert.cert_pem.encode())},
        )
        assert upload.status_code == 201, upload.text
    nc = await nats.connect(nats_url)
    try:
        await send_document(nc, EDI, station="MYCO", partner="flaky")
        await send_document(nc, EDI, station="MYCO", partner="rate")
        missing = DocumentRef(
            bucket="as2_documents", name=f"out/{uuid.uuid4()}", size=1, sha256="0" * 64
        )
        await publish_send_request(
            nc,
            SendRequest(
                request_id="missing-doc", station="MYCO", partner="openssl", document=missing
            ),
        )
        # An async MDN with no URL for it: refused now, not retried for 15 minutes.
        await send_document(
            nc, EDI, station="MYCO", partner="openssl", request_id="async-no-url",
            overrides=SendOverrides(mdn_mode="async"),
        )  # fmt: skip
        js = nc.jetstream()
        # No request id in it to echo: the refusal carries the Nats-Msg-Id it came with.
        await js.publish(
            SEND_SUBJECT, b"[1, 2]", stream=COMMANDS_STREAM, headers={"Nats-Msg-Id": "po-list"}
        )
        failed = (await events_of(js, "MessageFailed"))[0]["data"]
        assert (failed["partner"], failed["attempts"]) == ("flaky", 1)
        assert "HTTP 503" in failed["reason"]
        rejected = {
            r["data"]["modifier"]: r["data"]
            for r in await events_of(js, "MessageRejected", count=4)
        }
        assert rejected["CERT_HAS_EXPIRED"]["partner"] == "rate"
        # the reason is a sentence beside the code, not the code again ("CERT_HAS_EXPIRED: ...")
        assert rejected["CERT_HAS_EXPIRED"]["code"] == "CERT_HAS_EXPIRED"
        assert rejected["CERT_HAS_EXPIRED"]["reason"].startswith("partner certificate 'rate': ")
        assert "expired on " in rejected["CERT_HAS_EXPIRED"]["reason"]
        assert rejected["DOCUMENT_NOT_FOUND"]["request_id"] == "missing-doc"
        assert rejected["INVALID_REQUEST"]["request_id"] == "async-no-url"
        not_an_object = rejected["INVALID_JSON"]
        assert (not_an_object["request_id"], not_an_object["nats_msg_id"]) == (None, "po-list")
        assert rejected["INVALID_REQUEST"]["reason"].startswith(
            "overrides.mdn_mode 'async': openssl would have no URL to send its MDN to"
        )
        assert len(server.arrivals) == 0  # nothing reached the partner with the expired certificate
    finally:
        await nc.close()
