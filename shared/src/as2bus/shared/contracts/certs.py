"""Certificate contracts, v1: events from cert-svc and the key-material request-reply.

Events carry fingerprints and public certificates only. Private keys travel solely in the
key-material reply, sealed with the master key (see docs/architecture.md, "Key material").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from as2bus.shared.contracts.envelope import Contract, Event, register
from as2bus.shared.subjects import event_subject

CertKind = Literal["own", "partner"]
CertSource = Literal["generated", "imported", "uploaded"]

#: Request-reply subject (core NATS, not a stream). Deployments allow only cert-svc to
#: subscribe and only inbound-svc and outbound-svc to publish (deploy/k8s NATS accounts).
KEY_MATERIAL_SUBJECT = "as2.rpc.cert.key-material"


class CertificateSummary(Contract):
    """A certificate as other services see it: public data and its rotation schedule."""

    id: uuid.UUID
    alias: str
    kind: CertKind
    subject: str
    issuer: str
    serial: str
    fingerprint_sha256: str
    not_before: datetime
    not_after: datetime
    activation_at: datetime
    retirement_at: datetime | None = None
    cert_pem: str


class CertRotation(Contract):
    alias: str
    kind: CertKind
    change: Literal["new-certificate", "schedule"]
    certificate: CertificateSummary
    previous_fingerprints: list[str] = Field(default_factory=list)
    previous_retire_at: datetime | None = None
    #: Partners that should receive our new public certificate (own certificates only).
    notify_partners: list[str] = Field(default_factory=list)


class CertExpiry(Contract):
    certificate_id: uuid.UUID
    alias: str
    kind: CertKind
    fingerprint_sha256: str
    subject: str
    not_after: datetime
    days_left: int
    threshold_days: int


@register
class CertImported(Event):
    subject = event_subject("cert", "certificate", "imported")
    summary = "A certificate was generated, imported or uploaded under an alias that had none."
    source: CertSource
    data: CertificateSummary


@register
class CertRotated(Event):
    subject = event_subject("cert", "certificate", "rotated")
    summary = "An alias got a new certificate, or a certificate's activation/retirement changed."
    data: CertRotation


@register
class CertExpiring(Event):
    subject = event_subject("cert", "certificate", "expiring")
    summary = "A certificate crossed an expiry warning threshold (once per threshold)."
    data: CertExpiry


@register
class CertExpired(Event):
    subject = event_subject("cert", "certificate", "expired")
    summary = "A certificate is past its notAfter date (sent once)."
    data: CertExpiry


class KeyMaterialRequest(Contract):
    """Ask cert-svc for key material; no aliases means every alias."""

    aliases: list[str] | None = None


class KeyMaterialEntry(CertificateSummary):
    #: Own certificates only: the PKCS#8 private key sealed with the master key, context
    #: ``certificate:<id>:key`` (shared.crypto.SecretBox).
    sealed_key: str | None = None


class KeyMaterialReply(Contract):
    entries: list[KeyMaterialEntry]
    generated_at: datetime
