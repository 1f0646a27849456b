"""Certificates as the certificate pages show them: the state of each in words, how soon it
expires (coloured and worded under 30 days), and which one each side of a keystore uses now.
Pure: the pages pass in cert-svc's views (its JSON), whose ``days_left`` and ``state`` are
worked out on cert-svc's clock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

Side = Literal["own", "partner"]
Level = Literal["ok", "soon", "expired"]

#: Under this many days left, a certificate is highlighted and the page says what to do.
WARN_DAYS = 30
#: A new certificate must be installed on both sides before the old one expires: the page asks
#: for the partner's (or to send ours) this many days ahead, leaving them a week to install it.
LEAD_DAYS = 7

#: cert-svc's states in the words of the track log (a pending certificate is scheduled).
_STATE_WORDS = {"pending": "scheduled", "active": "active", "retired": "retired",
                "expired": "expired"}  # fmt: skip
#: Which certificate of a side is "the one in use", best first.
_IN_USE_ORDER = ("active", "retiring", "expired", "scheduled")


@dataclass(frozen=True)
class Expiry:
    days_left: int
    level: Level
    advice: str = ""  # what to do and by when; "" while more than WARN_DAYS are left

    @property
    def days_left_words(self) -> str:
        days = self.days_left
        if days < 0:
            return "expired"
        if days == 0:
            return "less than a day left"
        return f"{days} day{'s' * (days != 1)} left"

    @property
    def notice(self) -> str:
        """E.g. "expires in 12 days — ask the partner for a new one by 2026-12-09"."""
        if self.level == "ok":
            return ""
        days = self.days_left
        if days < 0:
            return f"expired — {self.advice}"
        soon = "within a day" if days == 0 else f"in {days} day{'s' * (days != 1)}"
        return f"expires {soon} — {self.advice}"


def expiry(days_left: int, not_after: str, side: Side) -> Expiry:
    """How soon a certificate expires, and under WARN_DAYS what to do about it and by when."""
    if days_left >= WARN_DAYS:
        return Expiry(days_left, "ok")
    if days_left < 0:
        when = "now"
    elif days_left > LEAD_DAYS:
        when = f"by {(_instant(not_after) - timedelta(days=LEAD_DAYS)).date().isoformat()}"
    else:
        when = "today"
    if side == "partner":
        advice = f"ask the partner for a new one {when}"
    else:
        advice = f"generate or import a new one and send the partner its public certificate {when}"
    return Expiry(days_left, "expired" if days_left < 0 else "soon", advice)


@dataclass(frozen=True)
class CertificateShown:
    """One certificate of a keystore, as a page shows it."""

    id: str
    side: Side
    alias: str
    subject: str
    fingerprint: str  # SHA-256, cert-svc's form AB:CD:...
    not_after: str  # ISO 8601, as cert-svc gives it
    activation_at: str
    retirement_at: str | None
    state: str  # scheduled, active, retiring, retired, expired
    expiry: Expiry

    @property
    def short_fingerprint(self) -> str:
        """The first bytes, enough to tell a keystore's few certificates apart on a page."""
        return self.fingerprint[:11]


def shown(view: dict[str, Any], side: Side) -> CertificateShown:
    state = _STATE_WORDS.get(view["state"], view["state"])
    if state == "active" and view.get("retirement_at"):
        state = "retiring"  # still accepted, until its retirement time (the overlap window)
    days_left = int(view["days_left"])
    # A retired certificate's expiry matters to no one: no colour, no advice.
    due = (
        Expiry(days_left, "ok")
        if state == "retired"
        else expiry(days_left, view["not_after"], side)
    )
    return CertificateShown(
        id=str(view["id"]),
        side=side,
        alias=view["alias"],
        subject=view["subject"],
        fingerprint=view["fingerprint_sha256"],
        not_after=view["not_after"],
        activation_at=view["activation_at"],
        retirement_at=view.get("retirement_at"),
        state=state,
        expiry=due,
    )


def in_use(certificates: list[CertificateShown]) -> CertificateShown | None:
    """The certificate a side uses now: the latest activated of those in service (an expired
    one still counts: it is the one that fails), else the next scheduled; None when none."""
    for state in _IN_USE_ORDER:
        found = [c for c in certificates if c.state == state]
        if found:
            return max(found, key=lambda c: _instant(c.activation_at))
    return None


def newest_first(certificates: list[CertificateShown]) -> list[CertificateShown]:
    return sorted(certificates, key=lambda c: _instant(c.activation_at), reverse=True)


@dataclass(frozen=True)
class KeystoreShown:
    """A partnership's keystore: our key's certificates and the partner's, newest first."""

    id: str
    station: str
    partner: str
    private_key_alias: str
    partner_cert_alias: str
    own: list[CertificateShown]
    partner_certificates: list[CertificateShown]

    @property
    def ours(self) -> CertificateShown | None:
        return in_use(self.own)

    @property
    def theirs(self) -> CertificateShown | None:
        return in_use(self.partner_certificates)

    @property
    def scheduled(self) -> list[CertificateShown]:
        """Certificates waiting for their activation time, of either side."""
        return [c for c in (*self.own, *self.partner_certificates) if c.state == "scheduled"]

    @property
    def needs_attention(self) -> bool:
        return any(c is not None and c.expiry.level != "ok" for c in (self.ours, self.theirs))


def keystore_shown(view: dict[str, Any]) -> KeystoreShown:
    return KeystoreShown(
        id=str(view["id"]),
        station=view["station_as2_id"],
        partner=view["partner_as2_id"],
        private_key_alias=view["private_key_alias"],
        partner_cert_alias=view["partner_cert_alias"],
        own=_advised([shown(c, "own") for c in view.get("own_certificates", [])]),
        partner_certificates=_advised(
            [shown(c, "partner") for c in view.get("partner_certificates", [])]
        ),
    )


@dataclass(frozen=True)
class StationKeyShown:
    """A partnership without a keystore: it signs and decrypts with its station's key, and uses
    the partner's certificate under the partner's alias (what inbound and outbound fall back to)."""

    partnership_id: str
    station: str
    partner: str
    private_key_alias: str
    partner_cert_alias: str
    ours: CertificateShown
    theirs: CertificateShown | None

    @property
    def needs_attention(self) -> bool:
        return any(c is not None and c.expiry.level != "ok" for c in (self.ours, self.theirs))


def station_keys_shown(
    partnerships: list[dict[str, Any]],
    stations: list[dict[str, Any]],
    partners: list[dict[str, Any]],
    keystores: list[dict[str, Any]],
    certificates: list[dict[str, Any]],
) -> list[StationKeyShown]:
    """The partnerships that sign with their station's key, from config-svc's entities and
    cert-svc's keystores and certificates; one with no station key in service is left out
    (nothing signs for it yet: Create Cert lists it)."""
    with_keystore = {(k["station_as2_id"], k["partner_as2_id"]) for k in keystores}
    station_of = {s["as2_id"]: s for s in stations}
    partner_of = {p["as2_id"]: p for p in partners}
    held: dict[tuple[str, str], list[CertificateShown]] = {}
    for view in certificates:
        held.setdefault((view["alias"], view["kind"]), []).append(shown(view, view["kind"]))
    found = []
    for link in partnerships:
        pair = (link["station_as2_id"], link["partner_as2_id"])
        station, partner = station_of.get(pair[0]), partner_of.get(pair[1])
        if pair in with_keystore or station is None or partner is None:
            continue
        key_alias, cert_alias = station["private_key_alias"], partner["as2_alias"]
        ours = in_use(_advised(held.get((key_alias, "own"), [])))
        if ours is not None:
            theirs = in_use(_advised(held.get((cert_alias, "partner"), [])))
            found.append(StationKeyShown(str(link["id"]), *pair, key_alias, cert_alias,
                                         ours, theirs))  # fmt: skip
    return sorted(found, key=lambda s: (s.station, s.partner))


def _advised(certificates: list[CertificateShown]) -> list[CertificateShown]:
    """Newest first, advice only where it helps: a retiring certificate whose successor is
    active needs none, and once a successor is scheduled an expiring one says so instead of
    asking for a new one again."""
    ordered = newest_first(certificates)
    successor = next((c for c in ordered if c.state == "scheduled"), None)
    replaced = any(c.state == "active" for c in ordered)
    advised = []
    for cert in ordered:
        if cert.state == "retiring" and replaced:
            cert = replace(cert, expiry=Expiry(cert.expiry.days_left, "ok"))
        elif successor is not None and cert.expiry.level == "soon" and cert is not successor:
            advice = f"its successor is scheduled from {successor.activation_at[:10]}"
            cert = replace(cert, expiry=replace(cert.expiry, advice=advice))
        advised.append(cert)
    return advised


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)
