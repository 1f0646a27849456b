"""Which partners a TLS client certificate identifies, and whether a message may claim its
AS2-From over it. No I/O: the certificate comes as data (DER, or None without one) from the
connection the request came on; the handshake has verified it already (adapters/server_tls.py).

A partner's ``tls.client_certificates_pem`` lists its TLS client certificates, or the CA
certificates that issue them. A certificate identifies the partner when, valid now, it is one
of them or is issued directly by one of them (one level: a CA between the two is not followed).
For a request claiming to come from partner P (a message's, or an async MDN's, AS2-From):

- P requires a client certificate: the connection must carry one that identifies P;
- a certificate that identifies partners names the sender: P must be one of them (the two must
  agree), whether or not P requires one. A certificate that identifies nobody (trusted through
  the global CA file only) names no one: only the first rule can refuse it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from as2bus.contracts import PartnerState


@dataclass(frozen=True)
class CertificateRefusal:
    """Why a request is refused for its TLS client certificate."""

    metric: str  # the rejection metric's reason label
    reason: str  # one sentence, for the partner (403) and the log


@functools.lru_cache(maxsize=1024)
def listed_certificates(pem: str | None) -> tuple[x509.Certificate, ...]:
    """The certificates of a partner's ``client_certificates_pem``; none when it is empty or
    not PEM (config-svc checks it; a partner with none is identified by nothing)."""
    if not pem:
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(pem.encode()))
    except ValueError:
        return ()


def _valid(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def identifies(leaf: x509.Certificate, partner: PartnerState, now: datetime) -> bool:
    """Whether ``leaf`` is one of the partner's client certificates, or is issued directly by
    one of them, and both are valid ``now``."""
    if not _valid(leaf, now):
        return False
    for listed in listed_certificates(partner.tls.client_certificates_pem):
        if listed == leaf:
            return True
        if listed.subject != leaf.issuer or not _valid(listed, now):
            continue
        try:
            leaf.verify_directly_issued_by(listed)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def owners(leaf: x509.Certificate, partners: Iterable[PartnerState], now: datetime) -> list[str]:
    """The AS2 IDs of the partners ``leaf`` identifies."""
    return [p.as2_id for p in partners if identifies(leaf, p, now)]


def refusal(
    partner: PartnerState,
    certificate: bytes | None,
    partners: Iterable[PartnerState],
    now: datetime,
) -> CertificateRefusal | None:
    """Why a request from ``partner`` (its AS2-From) may not come over a connection whose
    client certificate is ``certificate`` (DER; None: none); None when it may."""
    required = partner.tls.require_client_certificate
    if certificate is None:
        if not required:
            return None
        return CertificateRefusal(
            "client-certificate-missing",
            f"partner {partner.as2_id!r} must present its TLS client certificate, and this "
            "connection carries none",
        )
    try:
        leaf = x509.load_der_x509_certificate(certificate)
    except ValueError:
        return CertificateRefusal(
            "client-certificate-unreadable", "the TLS client certificate could not be read"
        )
    found = owners(leaf, partners, now)
    if found and partner.as2_id not in found:
        named = " or ".join(repr(as2_id) for as2_id in found)
        return CertificateRefusal(
            "client-certificate-other-partner",
            f"the TLS client certificate belongs to partner {named}, not to AS2-From "
            f"{partner.as2_id!r}",
        )
    if required and not found:
        return CertificateRefusal(
            "client-certificate-not-partners",
            f"the TLS client certificate is neither listed by partner {partner.as2_id!r} nor "
            "issued by a CA it lists, or is not valid now",
        )
    return None
