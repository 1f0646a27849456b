"""The partner's MDN for one of our messages, as its MdnReceived event reported it: what the
detail page's MDN section shows; and whether our MDN for a partner's message was signed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MdnRecord:
    disposition: str
    modifier: str | None = None
    text: str | None = None  # the partner's human-readable text: untrusted, shown escaped
    mic_alg: str | None = None
    signed: bool = False
    signature_valid: bool | None = None
    verified_with: str | None = None  # fingerprint of the partner certificate, cert-svc's form
    mode: str | None = None


def mdn_record(timeline: list[dict[str, Any]]) -> MdnRecord | None:
    """The latest MdnReceived's report (a resend with the same Message-ID may bring another)."""
    for entry in reversed(timeline):
        data = entry.get("data") or {}
        if entry["event_type"] == "MdnReceived" and data.get("disposition"):
            return MdnRecord(data["disposition"], data.get("modifier"), data.get("text"),
                             data.get("mic_alg"), bool(data.get("signed")),
                             data.get("signature_valid"), data.get("verified_with"),
                             data.get("mode"))  # fmt: skip
    return None


def our_mdn_signed(detail: dict[str, Any]) -> bool | None:
    """Inbound: whether the MDN we sent (the latest MdnSent) was signed; None when none was."""
    for entry in reversed(detail.get("timeline") or []):
        data = entry.get("data") or {}
        if entry["event_type"] == "MdnSent" and "signed" in data:
            return bool(data["signed"])
    return None
