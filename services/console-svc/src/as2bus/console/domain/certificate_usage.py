"""Which certificate each recent message of a partnership used, from its detail's timeline:
an outbound message names the certificate of ours that signed it and the partner's it was
encrypted for (MessageSent), and the partner's that verified its MDN (MdnReceived); an inbound
one the partner's that verified its signature (MessageReceived). The fingerprints are matched
to the keystore's certificates shown on the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from as2bus.console.domain.attempts import request_record
from as2bus.console.domain.certificates import CertificateShown
from as2bus.console.domain.mdn import mdn_record


@dataclass(frozen=True)
class Used:
    what: str  # "signed with", "encrypted for", "signature verified with", "MDN verified with"
    fingerprint: str
    certificate: CertificateShown | None  # None: not one of this keystore's certificates


@dataclass(frozen=True)
class MessageCertificates:
    message: dict[str, Any]  # tracklog-svc's detail
    ours: list[Used]
    theirs: list[Used]


def same_fingerprint(a: str, b: str) -> bool:
    """cert-svc writes AB:CD:..., other tools ab:cd or abcd: compare the bytes."""
    return a.replace(":", "").lower() == b.replace(":", "").lower()


def certificates_used(detail: dict[str, Any], known: list[CertificateShown]) -> MessageCertificates:
    timeline = detail.get("timeline") or []
    record = request_record(timeline)
    mdn = mdn_record(timeline) if detail.get("direction") == "outbound" else None
    ours: list[tuple[str, str | None]] = []
    theirs: list[tuple[str, str | None]] = []
    if record is not None and detail.get("direction") == "outbound":
        ours.append(("signed with", record.signed_with))
        theirs.append(("encrypted for", record.encrypted_for))
    elif record is not None:  # inbound: which of our keys decrypted it is not recorded
        theirs.append(("signature verified with", record.signed_with))
    if mdn is not None:
        theirs.append(("MDN verified with", mdn.verified_with))
    return MessageCertificates(
        detail,
        ours=[_match(what, fp, known, "own") for what, fp in ours if fp],
        theirs=[_match(what, fp, known, "partner") for what, fp in theirs if fp],
    )


def _match(what: str, fingerprint: str, known: list[CertificateShown], side: str) -> Used:
    # A loopback demo uses one certificate as both ours and the partner's: prefer the side the
    # message names, but accept the other.
    ranked = sorted(known, key=lambda c: c.side != side)
    found = next((c for c in ranked if same_fingerprint(c.fingerprint, fingerprint)), None)
    return Used(what, fingerprint, found)
