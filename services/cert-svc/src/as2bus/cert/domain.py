"""Certificate records and their rules, with no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from as2bus.shared.contracts.certs import CertificateSummary, CertKind, CertSource

CertState = Literal["pending", "active", "retired", "expired"]


@dataclass(frozen=True)
class Certificate:
    id: uuid.UUID
    alias: str
    kind: CertKind
    source: CertSource
    subject: str
    issuer: str
    serial: str
    fingerprint_sha256: str
    key_bits: int
    not_before: datetime
    not_after: datetime
    activation_at: datetime
    retirement_at: datetime | None
    cert_pem: str
    key_sealed: str | None
    created_at: datetime

    def state(self, now: datetime) -> CertState:
        if self.retirement_at is not None and self.retirement_at <= now:
            return "retired"
        if self.not_after <= now:
            return "expired"
        return "active" if self.activation_at <= now else "pending"

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now) // timedelta(days=1)

    def retired_by(self, when: datetime) -> Certificate:
        """This certificate with its retirement brought forward to ``when`` (never pushed back)."""
        if self.retirement_at is not None and self.retirement_at <= when:
            return self
        return replace(self, retirement_at=when)

    def summary(self) -> CertificateSummary:
        return CertificateSummary(
            id=self.id,
            alias=self.alias,
            kind=self.kind,
            subject=self.subject,
            issuer=self.issuer,
            serial=self.serial,
            fingerprint_sha256=self.fingerprint_sha256,
            not_before=self.not_before,
            not_after=self.not_after,
            activation_at=self.activation_at,
            retirement_at=self.retirement_at,
            cert_pem=self.cert_pem,
        )


def expiry_threshold_due(days_left: int, thresholds: list[int], notified: set[int]) -> int | None:
    """The warning to send now, if any: the most urgent threshold reached and not yet sent.

    A certificate first seen with 10 days left gets one warning (14), not two (30 and 14).
    """
    reached = [t for t in thresholds if days_left <= t]
    if not reached:
        return None
    most_urgent = min(reached)
    return None if most_urgent in notified else most_urgent
