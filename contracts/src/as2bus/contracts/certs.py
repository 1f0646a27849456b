"""Certificate contracts, v1: events from cert-svc and the key-material request-reply.

Events carry fingerprints and public certificates only. Private keys travel solely in the
key-material reply, sealed with the master key (see docs/architecture.md, "Key material").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from as2bus.contracts.envelope import Contract, Event, register
from as2bus.contracts.subjects import event_subject

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
class CertDeleted(Event):
    subject = event_subject("cert", "certificate", "deleted")
    summary = (
        "A partner certificate that no partner or keystore used was deleted (an upload under "
        "a wrong alias); its retirement_at is the moment of the deletion."
    )
    data: CertificateSummary


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


class PartnershipKey(Contract):
    """Which of our key aliases one partnership signs and decrypts with: its keystore's.

    A partnership without a keystore uses its station's ``private_key_alias``.
    """

    station_as2_id: str
    partner_as2_id: str
    private_key_alias: str
    partner_cert_alias: str


@register
class KeystoreCreated(Event):
    subject = event_subject("cert", "keystore", "created")
    summary = "A partnership got a keystore: the key alias it signs and decrypts with from now on."
    data: PartnershipKey


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
    #: Partnerships with a keystore; any other partnership uses its station's key alias.
    #: (Added in v1 as an optional field: an older cert-svc sends none.)
    partnership_keys: list[PartnershipKey] = Field(default_factory=list)
