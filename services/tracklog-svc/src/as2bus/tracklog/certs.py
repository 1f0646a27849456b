"""The certificate view: every certificate cert-svc announced, its schedule and days left.

Rows are keyed by (kind, alias, fingerprint), which every certificate event carries, so a
rotation that names a predecessor not seen yet (older than the stream's history, or simply
arriving first) still records the predecessor's retirement. Activation and retirement each keep
the time of the event that set them: the latest statement wins, whatever the arrival order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from as2bus.contracts import (
    CertDeleted,
    CertExpired,
    CertExpiring,
    CertificateSummary,
    CertImported,
    CertRotated,
    Event,
)
from as2bus.tracklog.domain import utc

CertState = Literal["scheduled", "active", "retiring", "retired", "expired"]
_NAMESPACE = uuid.UUID("0f4c55a2-93d1-4a0e-8f63-51c1c1f3e0d7")


def certificate_ref(kind: str, alias: str, fingerprint: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}|{alias}|{fingerprint}")


@dataclass
class CertificateView:
    """One row of ``certificates``."""

    id: uuid.UUID
    kind: str
    alias: str
    fingerprint_sha256: str
    updated_at: datetime
    certificate_id: uuid.UUID | None = None
    subject: str | None = None
    not_after: datetime | None = None
    activation_at: datetime | None = None
    activation_set_at: datetime | None = None
    retirement_at: datetime | None = None
    retirement_set_at: datetime | None = None
    warned_days: int | None = None  # the smallest expiry warning threshold announced
    expired: bool = False

    def state(self, now: datetime) -> CertState:
        if self.not_after is not None and utc(self.not_after) <= now:
            return "expired"
        if self.retirement_at is not None and utc(self.retirement_at) <= now:
            return "retired"
        if self.activation_at is not None and utc(self.activation_at) > now:
            return "scheduled"
        return "retiring" if self.retirement_at is not None else "active"

    def days_left(self, now: datetime) -> int | None:
        if self.not_after is None:
            return None
        return (utc(self.not_after) - now).days


@dataclass(frozen=True)
class CertChange:
    """What one event says about one certificate."""

    kind: str
    alias: str
    fingerprint: str
    certificate_id: uuid.UUID | None = None
    subject: str | None = None
    not_after: datetime | None = None
    activation_at: datetime | None = None
    retirement_at: datetime | None = None
    schedules_activation: bool = False
    schedules_retirement: bool = False
    warned_days: int | None = None
    expired: bool = False

    @property
    def ref(self) -> uuid.UUID:
        return certificate_ref(self.kind, self.alias, self.fingerprint)


def _summary(cert: CertificateSummary) -> CertChange:
    return CertChange(
        cert.kind, cert.alias, cert.fingerprint_sha256, cert.id, cert.subject,
        utc(cert.not_after), utc(cert.activation_at),
        utc(cert.retirement_at) if cert.retirement_at else None,
        schedules_activation=True, schedules_retirement=True,
    )  # fmt: skip


def changes(event: Event) -> Iterator[CertChange]:
    """The certificate facts in a cert event (none for other events)."""
    if isinstance(event, CertImported | CertDeleted):  # a deleted one: retired at the deletion
        yield _summary(event.data)
    elif isinstance(event, CertRotated):
        rotation = event.data
        yield _summary(rotation.certificate)
        if rotation.previous_retire_at is not None:
            retire = utc(rotation.previous_retire_at)
            for fingerprint in rotation.previous_fingerprints:
                yield CertChange(rotation.kind, rotation.alias, fingerprint,
                                 retirement_at=retire, schedules_retirement=True)  # fmt: skip
    elif isinstance(event, CertExpiring | CertExpired):
        d = event.data
        yield CertChange(
            d.kind, d.alias, d.fingerprint_sha256, d.certificate_id, d.subject,
            utc(d.not_after), warned_days=d.threshold_days, expired=isinstance(event, CertExpired),
        )  # fmt: skip


def _newer(at: datetime, set_at: datetime | None) -> bool:
    return set_at is None or at >= set_at


def merge(view: CertificateView | None, change: CertChange, at: datetime) -> CertificateView:
    """Apply ``change`` (from an event that occurred ``at``) to the row, creating it if new."""
    if view is None:
        view = CertificateView(change.ref, change.kind, change.alias, change.fingerprint, at)
    view.updated_at = max(view.updated_at, at)
    for name in ("certificate_id", "subject", "not_after"):
        if getattr(change, name) is not None:
            setattr(view, name, getattr(change, name))
    if change.schedules_activation and _newer(at, view.activation_set_at):
        view.activation_at, view.activation_set_at = change.activation_at, at
    if change.schedules_retirement and _newer(at, view.retirement_set_at):
        view.retirement_at, view.retirement_set_at = change.retirement_at, at
    if change.warned_days is not None:
        known = [d for d in (view.warned_days, change.warned_days) if d is not None]
        view.warned_days = min(known)
    view.expired = view.expired or change.expired
    return view
