"""pyas2lib, used directly, as the partner that sends to inbound-svc (sync and async MDN),
a partner's async MDN for one of our messages, and an expired partner certificate."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import nats
import pytest
from nats.js import JetStreamContext

from as2bus import as2
from as2bus.as2.algorithms import SigningAlg
from as2bus.cert import x509

# pyas2lib itself (the module, used directly), loaded after the codec fixed oscrypto for it.
from as2bus.peers.pyas2lib_peer import pyas2
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, until

from .conftest import partnership_with_keys

PAYLOAD = b"UNA:+.? 'UNB+UNOC:3+ACME+MYCO'UNH+1+ORDERS:D:96A:UN'" * 20


class MdnInbox:
    """The partner's async MDN URL: a real HTTP server that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mdn"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def mdn_inbox() -> Iterator[MdnInbox]:
    inbox = MdnInbox()
    yield inbox
    inbox.server.shutdown()
    inbox.server.server_close()


@pytest.fixture
async def js(nats_url: str) -> Any:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


def pyas2lib_sender(
    ours: bytes, acme: x509.OwnKey, mdn_mode: str, mdn_url: str | None, payload: bytes = PAYLOAD
) -> Any:
    org = pyas2.Organization(
        as2_name="acme", sign_key=(acme.key_pem + acme.cert.cert_pem).encode(), mdn_url=mdn_url
    )
    partner = pyas2.Partner(
        as2_name="MYCO",
        verify_cert=ours,
        encrypt_cert=ours,
        validate_certs=False,
        sign=True,
        encrypt=True,
        enc_alg="aes_256_cbc",
        digest_alg="sha256",
        mdn_mode=mdn_mode,
        mdn_digest_alg="sha256",
    )
    message = pyas2.Message(org, partner)
    message.build(payload, filename="orders.edi", content_type="application/EDIFACT")
    return message


async def post(inbound: ServiceProcess, headers: dict[str, str], body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=inbound.base_url, timeout=30) as http:
        # No retry on unknown-trading-partner: inbound-svc catches up with the configuration
        # itself before it says so (ConfigReplica.catch_up).
        return await http.post("/as2", headers=headers, content=body)


def pyas2lib_reads_mdn(
    message: Any, headers: dict[str, str], body: bytes
) -> tuple[str, str | None]:
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n" + body
    status, detail = pyas2.Mdn().parse(raw, find_message_cb=lambda _mid, _rcpt: message)
    return status, detail


async def test_pyas2lib_partner_with_sync_and_async_mdn(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    mdn_inbox: MdnInbox,
    js: JetStreamContext,
) -> None:
    ours, acme = await partnership_with_keys(config_svc, cert_svc)

    sync = pyas2lib_sender(ours, acme, "SYNC", None)
    response = await post(inbound_svc, sync.headers, sync.content)
    assert response.status_code == 200
    assert pyas2lib_reads_mdn(sync, dict(response.headers), response.content) == ("processed", None)

    # Another document: the same one signed again within the same second would carry the
    # same signature, and the partner's replay protection (on for new partners) would answer
    # it as a replay (docs/reliability.md, "Replay protection").
    later = pyas2lib_sender(ours, acme, "ASYNC", mdn_inbox.url, PAYLOAD + b"UNT+2+1'")
    response = await post(inbound_svc, later.headers, later.content)
    assert (response.status_code, response.content) == (200, b"")
    await until(lambda: mdn_inbox.received, what="the async MDN at the partner")
    headers, body = mdn_inbox.received[0]
    assert pyas2lib_reads_mdn(later, headers, body) == ("processed", None)

    received = await events_of(js, "MessageReceived", count=2)
    assert {e["data"]["filename"] for e in received} == {"orders.edi"}
    delivered = [e["data"] for e in await events_of(js, "MdnSent", count=2)]
    assert {(d["mode"], d["delivered"]) for d in delivered} == {("sync", True), ("async", True)}
    async with httpx.AsyncClient(base_url=inbound_svc.base_url) as http:
        metrics = (await http.get("/metrics")).text
    assert 'as2bus_inbound_received_total{partner="acme"} 2.0' in metrics


async def test_a_partners_async_mdn_for_our_message_is_published(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    js: JetStreamContext,
) -> None:
    _, acme = await partnership_with_keys(config_svc, cert_svc)
    acme_keys = as2.KeyPair(acme.key_pem.encode(), acme.cert.cert_pem.encode())
    ours = as2.RequestSummary(
        message_id="<ours-1@myco.as2bus>",
        as2_from="MYCO",
        as2_to="acme",
        mdn=as2.MdnRequest(mode="async", return_to="x", async_url="http://us/as2", signing=None),
    )
    signed_request = as2.RequestSummary(
        **{
            **ours.__dict__,
            "mdn": as2.MdnRequest("async", "x", "http://us/as2", SigningAlg.SHA256),
        }
    )
    mdn = as2.build_mdn(signed_request, local=as2.LocalParty("acme", acme_keys))
    response = await post(inbound_svc, mdn.headers, mdn.body)
    assert response.status_code == 200, response.text
    report = (await events_of(js, "MdnReceived"))[0]["data"]
    assert report["original_message_id"] == "<ours-1@myco.as2bus>"
    assert (report["disposition"], report["signed"], report["signature_valid"]) == (
        "processed",
        True,
        True,
    )
    assert report["partner"] == "acme"


async def test_an_expired_partner_certificate_gets_authentication_failed(
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    inbound_svc: ServiceProcess,
    js: JetStreamContext,
) -> None:
    ours, acme = await partnership_with_keys(config_svc, cert_svc, expired_partner_cert=True)
    message = pyas2lib_sender(ours, acme, "SYNC", None)
    response = await post(inbound_svc, message.headers, message.content)
    status, detail = pyas2lib_reads_mdn(message, dict(response.headers), response.content)
    assert "authentication-failed" in f"{status} {detail}"
    rejected = await events_of(js, "MessageRejected")
    assert rejected[0]["data"]["modifier"] == "authentication-failed"
