"""Reading AS2 request headers: case-insensitive, quoted AS2 names, MDN requests."""

from __future__ import annotations

from collections.abc import Mapping

from as2bus.shared.algorithms import SigningAlg, normalize_signing
from as2bus.shared.as2.model import MdnRequest, RequestSummary


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def unquote_as2_name(value: str | None) -> str | None:
    """AS2-From/To may be quoted when they hold spaces (RFC 4130 §6.2)."""
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def quote_as2_name(value: str) -> str:
    if any(c in value for c in ' "\\'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def requested_mic_algorithm(options: str | None) -> SigningAlg | None:
    """From ``signed-receipt-micalg=optional, sha-256, sha1``: the first one we know."""
    if not options:
        return None
    for clause in options.split(";"):
        name, _, values = clause.partition("=")
        if name.strip().lower() != "signed-receipt-micalg":
            continue
        for candidate in values.split(",")[1:] or values.split(","):
            try:
                return normalize_signing(candidate)
            except ValueError:
                continue
    return None


def mdn_request(headers: Mapping[str, str]) -> MdnRequest | None:
    h = lower_keys(headers)
    return_to = h.get("disposition-notification-to")
    if not return_to:
        return None
    async_url = (h.get("receipt-delivery-option") or "").strip() or None
    return MdnRequest(
        mode="async" if async_url else "sync",
        return_to=return_to,
        async_url=async_url,
        signing=requested_mic_algorithm(h.get("disposition-notification-options")),
    )


def summarize_request(headers: Mapping[str, str]) -> RequestSummary:
    """What the headers say about a message, for addressing an MDN. Never raises."""
    try:
        h = lower_keys(headers)
        message_id = (h.get("message-id") or "").strip() or None
        return RequestSummary(
            message_id=message_id,
            as2_from=unquote_as2_name(h.get("as2-from")),
            as2_to=unquote_as2_name(h.get("as2-to")),
            mdn=mdn_request(headers),
        )
    except Exception:  # odd input still gets an answer, just a less detailed one
        return RequestSummary(message_id=None, as2_from=None, as2_to=None, mdn=None)


def raw_message(headers: Mapping[str, str], body: bytes) -> bytes:
    """HTTP headers and body as one MIME entity, which is what the S/MIME layer parses."""
    lines = [f"{k}: {' '.join(v.splitlines())}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "replace") + body
