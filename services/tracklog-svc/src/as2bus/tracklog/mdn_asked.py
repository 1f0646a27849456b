"""What a partner's message asked of our MDN, read from its request headers (RFC 4130 section
7.3): whether one was asked for (sync, or async to a Receipt-Delivery-Option URL) and signed
how, in the terms an outbound row uses for what we asked (mdn_requested, mdn_signature)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from as2bus.contracts.config import MdnSignature


@dataclass(frozen=True)
class MdnAsked:
    mode: str  # sync | async | none
    signature: MdnSignature | None  # None when no MDN was asked for


def mdn_asked(headers: Mapping[str, str]) -> MdnAsked:
    lower = {name.lower(): value for name, value in headers.items()}
    if "disposition-notification-to" not in lower:
        return MdnAsked("none", None)
    mode = "async" if lower.get("receipt-delivery-option") else "sync"
    return MdnAsked(mode, _signature(lower.get("disposition-notification-options", "")))


def _signature(options: str) -> MdnSignature:
    """``signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=...``:
    required, optional (our "preferred") or not asked."""
    for parameter in options.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "signed-receipt-protocol":
            continue
        importance, _, protocol = (part.strip().lower() for part in value.partition(","))
        if protocol != "pkcs7-signature":
            return "none"
        return "required" if importance == "required" else "preferred"
    return "none"
