"""Mutual TLS per partner, over real TLS in-process (the receive use case on fakes): the
handshake trusts every partner's listed client certificates, kept current as partners change;
the certificate reaches the use case (the ASGI TLS extension), which holds it to the AS2-From
of a message, or of an async MDN: 403 and a reason, no MDN, a rejection counted."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from prometheus_client import REGISTRY

from as2bus.contracts import MessageReceived, MessageRejected
from as2bus.contracts.config import PartnerTls
from as2bus.inbound.parties import Parties
from as2bus.testing.config_states import partner_state
from as2bus.testing.tls import Pair, PrivateCa

from .receiving import PARTNER, acme_sends, inbound, partnership, read_our_mdn
from .serving import client_context, requiring, server_tls, serving
from .test_receive_mdn import acme_answers, our_message_to_acme

SERVER_CA, ACME_CA, BOLT_CA, STRANGER_CA = (PrivateCa(n) for n in ("server", "acme", "bolt", "x"))
ACME_CLIENT = ACME_CA.issue_client("acme-as2")


def bolt(certificates: bytes) -> Parties:
    """Another partner, BOLT, whose TLS client certificates are issued by ``certificates``."""
    base = partnership()
    tls = PartnerTls(client_certificates_pem=certificates.decode())
    return Parties(base.station, partner_state("BOLT", tls=tls), base.local, base.remote)


def rejected(reason: str) -> float:
    labels = {"partner": PARTNER, "reason": reason}
    return REGISTRY.get_sample_value("as2bus_inbound_rejected_total", labels) or 0.0


async def post_as_acme(
    tmp_path: Path, parties: list[Parties], certificate: Pair | None
) -> tuple[httpx.Response, list[MessageRejected], int]:
    """ACME's message over a connection presenting ``certificate``: (the answer, the
    rejections announced, the documents delivered)."""
    sut = inbound(*parties)
    sent = acme_sends()
    async with (
        serving(sut, server_tls(SERVER_CA, tmp_path)) as served,
        httpx.AsyncClient(verify=client_context(SERVER_CA, certificate)) as http,
    ):
        response = await http.post(served.url, headers=sent.headers, content=sent.body)
    return response, sut.bus.of_type(MessageRejected), len(sut.bus.of_type(MessageReceived))


@pytest.mark.parametrize("listed", ["ca", "leaf"])
async def test_the_partners_certificate_is_accepted(tmp_path: Path, listed: str) -> None:
    certificates = ACME_CA.cert_pem if listed == "ca" else ACME_CLIENT[1]
    acme = requiring(partnership(), certificates)
    response, refusals, delivered = await post_as_acme(tmp_path, [acme], ACME_CLIENT)
    assert response.status_code == 200, response.text
    assert read_our_mdn(dict(response.headers), response.content).disposition == "processed"
    assert (refusals, delivered) == ([], 1)


async def test_without_a_certificate_a_partner_requiring_one_is_refused(tmp_path: Path) -> None:
    before = rejected("client-certificate-missing")
    acme = requiring(partnership(), ACME_CA.cert_pem)
    response, refusals, delivered = await post_as_acme(tmp_path, [acme], None)
    reason = (
        "partner 'ACME' must present its TLS client certificate, and this connection carries none"
    )
    assert (response.status_code, response.text) == (403, reason + "\n")
    assert response.headers["content-type"].startswith("text/plain")  # no MDN
    assert [(r.data.modifier, r.data.reason) for r in refusals] == [
        ("authentication-failed", reason)
    ]
    assert delivered == 0
    assert rejected("client-certificate-missing") == before + 1


async def test_another_partners_certificate_is_refused_naming_whose_it_is(tmp_path: Path) -> None:
    acme = requiring(partnership(), ACME_CA.cert_pem, required=False)
    response, refusals, delivered = await post_as_acme(
        tmp_path, [acme, bolt(BOLT_CA.cert_pem)], BOLT_CA.issue_client("bolt-as2")
    )
    reason = "the TLS client certificate belongs to partner 'BOLT', not to AS2-From 'ACME'"
    assert (response.status_code, response.text) == (403, reason + "\n")
    assert (len(refusals), delivered) == (1, 0)


@pytest.mark.parametrize(
    ("certificate", "alert"),
    [
        (STRANGER_CA.issue_client("acme-as2"), "alert unknown ca"),
        (ACME_CA.issue_client("acme-as2", expired=True), "alert certificate expired"),
    ],
    ids=["unknown-ca", "expired"],
)
async def test_an_untrusted_or_expired_certificate_ends_the_handshake_with_its_alert(
    tmp_path: Path, certificate: Pair, alert: str
) -> None:
    acme = requiring(partnership(), ACME_CA.cert_pem)
    # Over TLS 1.3 the alert arrives as httpx reads the answer: httpx lets it out unwrapped.
    with pytest.raises((httpx.TransportError, ssl.SSLError), match=alert):
        await post_as_acme(tmp_path, [acme], certificate)


async def test_a_partner_configured_after_the_start_is_trusted_at_once(tmp_path: Path) -> None:
    sut = inbound(partnership())  # ACME lists no client certificate yet
    sent = acme_sends()
    async with serving(sut, server_tls(SERVER_CA, tmp_path)) as served:
        async with httpx.AsyncClient(verify=client_context(SERVER_CA, ACME_CLIENT)) as http:
            with pytest.raises((httpx.TransportError, ssl.SSLError), match="alert unknown ca"):
                await http.post(served.url, headers=sent.headers, content=sent.body)
        sut.parties.partnerships[0] = requiring(sut.parties.partnerships[0], ACME_CA.cert_pem)
        async with httpx.AsyncClient(verify=client_context(SERVER_CA, ACME_CLIENT)) as http:
            response = await http.post(served.url, headers=sent.headers, content=sent.body)
    assert response.status_code == 200, response.text


async def test_an_async_mdn_is_held_to_its_senders_certificate_too() -> None:
    sut = inbound(requiring(partnership(), ACME_CA.cert_pem))
    mdn = acme_answers(our_message_to_acme())
    before = rejected("client-certificate-missing")

    refused = await sut.mdn_receiver.receive(mdn.headers, mdn.body, None)

    assert refused.status_code == 403
    assert refused.body.startswith(b"partner 'ACME' must present its TLS client certificate")
    assert rejected("client-certificate-missing") == before + 1
    assert sut.bus.events == []
    der = x509.load_pem_x509_certificate(ACME_CLIENT[1]).public_bytes(Encoding.DER)
    accepted = await sut.mdn_receiver.receive(mdn.headers, mdn.body, der)
    assert accepted.status_code == 200, accepted.body
