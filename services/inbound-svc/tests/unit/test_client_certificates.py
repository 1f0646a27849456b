"""Which partner a TLS client certificate identifies, and when a request is refused for it
(``client_certificates.refusal``): certificates made by the shared test CA, no server."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from as2bus.contracts import PartnerState
from as2bus.contracts.config import PartnerTls
from as2bus.inbound.client_certificates import identifies, refusal
from as2bus.testing.config_states import partner_state
from as2bus.testing.tls import PrivateCa

NOW = datetime.now(UTC)


@functools.cache
def ca(name: str) -> PrivateCa:
    return PrivateCa(name)


@functools.cache
def client_pem(name: str, *, issuer: str = "acme CA", expired: bool = False) -> bytes:
    return ca(issuer).issue_client(name, expired=expired)[1]


def der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def partner(as2_id: str, pem: bytes | None, *, required: bool = False) -> PartnerState:
    tls = PartnerTls(
        require_client_certificate=required,
        client_certificates_pem=pem.decode() if pem else None,
    )
    return partner_state(as2_id, tls=tls)


def test_a_certificate_identifies_the_partner_listing_it_or_its_issuing_ca() -> None:
    leaf = x509.load_pem_x509_certificate(client_pem("acme-1"))
    assert identifies(leaf, partner("acme", client_pem("acme-1")), NOW)
    assert identifies(leaf, partner("acme", ca("acme CA").cert_pem), NOW)
    assert not identifies(leaf, partner("acme", client_pem("acme-2")), NOW)
    assert not identifies(leaf, partner("acme", ca("other CA").cert_pem), NOW)
    assert not identifies(leaf, partner("acme", None), NOW)
    expired = x509.load_pem_x509_certificate(client_pem("acme-old", expired=True))
    assert not identifies(expired, partner("acme", ca("acme CA").cert_pem), NOW)
    assert not identifies(leaf, partner("acme", ca("acme CA").cert_pem), NOW + timedelta(days=60))


def test_a_partner_requiring_a_certificate_is_refused_without_one() -> None:
    acme = partner("acme", ca("acme CA").cert_pem, required=True)
    refused = refusal(acme, None, [acme], NOW)
    assert refused is not None
    assert refused.metric == "client-certificate-missing"
    assert refused.reason == (
        "partner 'acme' must present its TLS client certificate, and this connection carries none"
    )
    assert refusal(partner("acme", None), None, [], NOW) is None  # not required: no matter


def test_the_right_certificate_is_accepted() -> None:
    acme = partner("acme", ca("acme CA").cert_pem, required=True)
    assert refusal(acme, der(client_pem("acme-1")), [acme], NOW) is None


@pytest.mark.parametrize("required", [True, False], ids=["required", "not-required"])
def test_another_partners_certificate_is_refused_naming_both(required: bool) -> None:
    acme = partner("acme", ca("acme CA").cert_pem, required=required)
    bolt = partner("bolt", ca("bolt CA").cert_pem)
    refused = refusal(acme, der(client_pem("bolt-1", issuer="bolt CA")), [acme, bolt], NOW)
    assert refused is not None
    assert refused.metric == "client-certificate-other-partner"
    assert refused.reason == (
        "the TLS client certificate belongs to partner 'bolt', not to AS2-From 'acme'"
    )


def test_a_certificate_shared_by_two_partners_lets_either_send() -> None:
    shared = ca("acme CA").cert_pem
    acme, bolt = partner("acme", shared, required=True), partner("bolt", shared)
    certificate = der(client_pem("acme-1"))
    assert refusal(acme, certificate, [acme, bolt], NOW) is None
    assert refusal(bolt, certificate, [acme, bolt], NOW) is None


def test_a_certificate_identifying_nobody_passes_only_where_none_is_required() -> None:
    # Trusted by the global CA file alone, say: it names no sender.
    stranger = der(client_pem("someone", issuer="global CA"))
    lenient = partner("acme", ca("acme CA").cert_pem)
    assert refusal(lenient, stranger, [lenient], NOW) is None
    strict = partner("acme", ca("acme CA").cert_pem, required=True)
    refused = refusal(strict, stranger, [strict], NOW)
    assert refused is not None
    assert refused.metric == "client-certificate-not-partners"
    assert refused.reason == (
        "the TLS client certificate is neither listed by partner 'acme' nor issued by a CA it "
        "lists, or is not valid now"
    )


def test_an_expired_certificate_identifies_nobody() -> None:
    acme = partner("acme", ca("acme CA").cert_pem, required=True)
    refused = refusal(acme, der(client_pem("acme-old", expired=True)), [acme], NOW)
    assert refused is not None
    assert refused.metric == "client-certificate-not-partners"
