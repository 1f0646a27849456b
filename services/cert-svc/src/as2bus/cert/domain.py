"""Certificate records and their rules, with no I/O."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from as2bus.contracts.certs import CertificateSummary, CertKind, CertSource

CertState = Literal["pending", "active", "retired", "expired"]
MAX_ALIAS_LENGTH = 128  # as ALIAS_PATTERN allows
#: How far back a rotation's switch time may be: "now" as a client read it a moment before the
#: request, on a clock a little apart from ours. Further back is a mistake (see switch_has_passed).
SWITCH_TOLERANCE = timedelta(minutes=5)


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


def switch_has_passed(activation_at: datetime, now: datetime) -> bool:
    """Whether a rotation's switch time is too far in the past to accept. The new certificate
    would have been in use since then without the partner having it, and the previous ones'
    overlap window, counted from the switch, would be cut short or over already: they would
    retire at once, with messages still on their way to them. A time without a zone is UTC,
    as everything stored is."""
    if activation_at.tzinfo is None:
        activation_at = activation_at.replace(tzinfo=UTC)
    return activation_at < now - SWITCH_TOLERANCE


def expiry_threshold_due(days_left: int, thresholds: list[int], notified: set[int]) -> int | None:
    """The warning to send now, if any: the most urgent threshold reached and not yet sent.

    A certificate first seen with 10 days left gets one warning (14), not two (30 and 14).
    """
    reached = [t for t in thresholds if days_left <= t]
    if not reached:
        return None
    most_urgent = min(reached)
    return None if most_urgent in notified else most_urgent


@dataclass(frozen=True)
class KeyUse:
    """One partnership and the alias of our key it signs and decrypts with."""

    station_as2_id: str
    partner_as2_id: str
    private_key_alias: str
    by_keystore: bool  # False: no keystore, so the station's alias (a key it may share)

    @property
    def name(self) -> str:
        return f"{self.station_as2_id}:{self.partner_as2_id}"


def key_uses(
    partnerships: Iterable[tuple[str, str, str]], keystores: Iterable[tuple[str, str, str]]
) -> list[KeyUse]:
    """Every partnership with our key alias it uses: its keystore's, else its station's.

    ``partnerships`` are (station AS2 ID, partner AS2 ID, station's key alias) from config;
    ``keystores`` are (station AS2 ID, partner AS2 ID, key alias). The same rule as
    ``shared.keyring.KeyRing.own_alias``, which inbound and outbound apply.
    """
    bound = {(s, p): alias for s, p, alias in keystores}
    uses = {(s, p): KeyUse(s, p, alias, True) for (s, p), alias in bound.items()}
    for station, partner, station_alias in partnerships:
        uses.setdefault((station, partner), KeyUse(station, partner, station_alias, False))
    return sorted(uses.values(), key=lambda u: (u.station_as2_id, u.partner_as2_id))


def partnership_alias(station_alias: str, partner_alias: str) -> str:
    """The key alias a partnership's own key gets by default, e.g. ``myco@amazon``.

    Aliases are at most 128 characters: a longer pair is cut and made unique with a digest.
    """
    alias = f"{station_alias}@{partner_alias}"
    if len(alias) <= MAX_ALIAS_LENGTH:
        return alias
    digest = hashlib.sha256(alias.encode()).hexdigest()[:8]
    return f"{alias[: MAX_ALIAS_LENGTH - 9]}-{digest}"
