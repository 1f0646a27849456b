"""A request's TLS client certificate held to the partner it claims to come from (the rules
are client_certificates.py's), and counted when it is refused: the one check a message and an
async MDN both pass before anything of them is read."""

from __future__ import annotations

from datetime import UTC, datetime

from as2bus.contracts import PartnerState
from as2bus.inbound import client_certificates
from as2bus.inbound.client_certificates import CertificateRefusal
from as2bus.inbound.metrics import REJECTED
from as2bus.inbound.ports import PartyDirectory


def refused_certificate(
    parties: PartyDirectory, partner: PartnerState, certificate: bytes | None
) -> CertificateRefusal | None:
    """Why the certificate may not claim ``partner`` (None: it may, or there is none and the
    partner does not require one)."""
    # Whose certificate it is matters only when there is one.
    partners = parties.partners() if certificate is not None else ()
    refused = client_certificates.refusal(partner, certificate, partners, datetime.now(UTC))
    if refused is not None:
        REJECTED.labels(partner.as2_id, refused.metric).inc()
    return refused
