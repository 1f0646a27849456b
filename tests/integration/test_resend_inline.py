"""A small document sent inline (as ``as2bus send`` sends it) to a partner that cannot be
reached fails; outbound-svc still keeps it after the failure, serves it over its API, and the
console's Resend sends it again from there, delivered this time. Before, outbound-svc dropped
it once the message was settled: the console offered Resend and then refused, and the
document could not be downloaded. Every service is a real process (the loopback of
test_outbound_loopback.py: partner B is our own inbound endpoint)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import nats

from as2bus.console.adapters.backends import Backend
from as2bus.console.adapters.sending import Sender
from as2bus.contracts import DocumentRef
from as2bus.contracts.documents import documents_bucket
from as2bus.contracts.send import send_document
from as2bus.shared.bus.documents import DocumentStore
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, until

from .conftest import TOKEN, client, tracked
from .test_outbound_loopback import loopback

ORDER = b"ISA*00*          *00*          *ZZ*A              *ZZ*B~\r\nST*850*0001~\r\n"
DEAD = "http://127.0.0.1:9/as2"  # nothing listens on port 9


async def _partner_b(config_svc: ServiceProcess) -> str:
    async with client(config_svc) as config:
        found = await config.get("/api/v1/partners", params={"as2_id": "B"})
        return str(found.json()[0]["id"])


async def test_a_failed_inline_document_is_downloaded_and_resent_until_delivered(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    outbound_svc: ServiceProcess,
    tracklog_svc: ServiceProcess,
    nats_url: str,
) -> None:
    nc = await nats.connect(nats_url)
    try:
        await _fail_then_resend(config_svc, cert_svc, inbound_svc, outbound_svc, tracklog_svc, nc)
    finally:
        await nc.close()


async def _fail_then_resend(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    outbound_svc: ServiceProcess,
    tracklog_svc: ServiceProcess,
    nc: Any,
) -> None:
    await loopback(config_svc, cert_svc, DEAD, "sync")
    b = await _partner_b(config_svc)
    async with client(config_svc) as config:
        assert (await config.patch(f"/api/v1/partners/{b}", json={"max_attempts": 1})).is_success
    js = nc.jetstream()
    sent = await send_document(
        nc, ORDER, station="A", partner="B", filename="po.x12", subject="PO 1002"
    )
    assert sent.document is None  # small: inline
    assert sent.inline_base64 is not None
    (failed,) = [e["data"] for e in await events_of(js, "MessageFailed")]
    assert failed["request_id"] == sent.request_id

    # Settled, and still kept by outbound-svc: the console downloads it from there.
    outbound = httpx.AsyncClient(
        base_url=outbound_svc.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    message_id = failed["message_id"]
    async with outbound:
        path = f"/api/v1/messages/{quote(message_id, safe='')}/documents"
        listed = await outbound.get(path)
        document = await outbound.get(f"{path}/1")
    assert listed.status_code == 200, listed.text
    assert [(d["filename"], d["kept_in"]) for d in listed.json()] == [("po.x12", "outbound-svc")]
    assert (document.status_code, document.content) == (200, ORDER)
    assert document.headers["content-type"] == "application/edi-x12"

    # The partner is reachable again (once outbound-svc follows the change, which its
    # connection test shows); the console's Resend sends what tracklog-svc recorded.
    async with client(config_svc) as config:
        back = {"as2_url": f"{inbound_svc.base_url}/as2", "max_attempts": 3}
        assert (await config.patch(f"/api/v1/partners/{b}", json=back)).is_success
    async with client(outbound_svc) as api:

        async def reachable() -> bool:
            steps = (await api.post("/api/v1/partners/B/connection-test")).json()
            tcp = next(s for s in steps if s["name"] == "TCP")
            assert tcp["ok"], steps
            return True

        await until(reachable, what="outbound-svc to follow B's new URL", timeout=20)
    (row,) = await tracked(tracklog_svc, 1, direction="outbound", status="failed")
    async with client(tracklog_svc) as api:
        detail = (await api.get(f"/api/v1/messages/{row['id']}")).json()
    assert detail["document"] is None  # tracklog-svc has no reference: it went inline
    # No POST got through, so no headers as sent: the subject is the one it was queued with.
    assert detail["subject"] == "PO 1002"
    store = DocumentStore(await documents_bucket(js), js)
    async with httpx.AsyncClient(
        base_url=outbound_svc.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as http:
        request_id = await Sender(nc, store, Backend("outbound-svc", http)).resend(detail)

    delivered = [e["data"] for e in await events_of(js, "MessageDelivered")]
    assert [d["request_id"] for d in delivered] == [request_id]
    received = (await events_of(js, "MessageReceived"))[0]["data"]
    assert (received["partner"], received["filename"]) == ("A", "po.x12")
    assert received["subject"] == "PO 1002"  # the resend keeps the subject typed
    assert await store.get(DocumentRef(**received["document"])) == ORDER
    (resent,) = await tracked(tracklog_svc, 1, direction="outbound", status="delivered")
    assert resent["message_id"] != message_id
    async with client(tracklog_svc) as api:
        again = (await api.get(f"/api/v1/messages/{resent['id']}")).json()
    assert again["replays"] == message_id
