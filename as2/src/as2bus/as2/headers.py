"""AS2 request headers: case-insensitive names, quoted AS2 names, what MDN the sender asked for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import metadata
from urllib.parse import urlsplit

from as2bus.as2.algorithms import SigningAlg, normalize_signing
from as2bus.as2.model import MdnRequest, RequestSummary


def _product() -> str:
    try:
        return f"as2bus/{metadata.version('as2bus-as2')}"
    except metadata.PackageNotFoundError:
        return "as2bus"


#: The User-Agent of every message we POST and every MDN we send: ``as2bus/<version>`` (the
#: ``as2bus-as2`` distribution's), or ``as2bus`` where it is not installed.
USER_AGENT = _product()

_AS2_NAME = re.compile(r"[\x21-\x7e]([\x20-\x7e]{0,126}[\x21-\x7e])?")


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def unquote_as2_name(value: str | None) -> str | None:
    """AS2-From/To are quoted when they hold spaces (RFC 4130 §6.2)."""
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value or None


def quote_as2_name(value: str, *, strict: bool = True) -> str:
    """Quoted when it holds spaces, quotes or backslashes. ``strict``: refuse what is not an
    AS2 name (ours); otherwise (a partner's, echoed in an MDN) only keep it on one line."""
    if not strict:
        value = " ".join(value.split()) or "unknown"
    elif not _AS2_NAME.fullmatch(value):
        raise ValueError(f"an AS2 name is 1-128 printable ASCII characters: {value!r}")
    if any(c in value for c in ' "\\'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _options(value: str) -> dict[str, tuple[bool, list[str]]]:
    """``signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=required,
    sha-256, sha1`` → {name: (required, [values])}."""
    found: dict[str, tuple[bool, list[str]]] = {}
    for clause in value.split(";"):
        name, _, rest = clause.partition("=")
        items = [item.strip() for item in rest.split(",") if item.strip()]
        importance = items[0].lower() if items else ""
        if importance in ("required", "optional"):
            items = items[1:]
        found[name.strip().lower()] = (importance == "required", items)
    return found


def _signing(options: str | None) -> tuple[SigningAlg | None, str | None]:
    """(algorithm to sign the MDN with, or None for unsigned; failure for a required option
    we cannot honour). An optional unknown algorithm gets SHA-256: a signed receipt was asked
    for, and RFC 4130 lets us sign with an algorithm we support."""
    parsed = _options(options or "")
    protocol = parsed.get("signed-receipt-protocol")
    micalg = parsed.get("signed-receipt-micalg")
    if protocol is None and micalg is None:
        return None, None
    if protocol is not None and "pkcs7-signature" not in (p.lower() for p in protocol[1]):
        return None, "unsupported format" if protocol[0] else None
    for name in micalg[1] if micalg else []:
        try:
            return normalize_signing(name), None
        except ValueError:
            continue
    if micalg is not None and micalg[0] and micalg[1]:
        return None, "unsupported MIC-algorithms"
    return SigningAlg.SHA256, None


#: The schemes an asynchronous MDN is POSTed over; anything else can never be delivered.
RECEIPT_SCHEMES = ("http", "https")


def receipt_url_refusal(url: str) -> str | None:
    """Why an asynchronous MDN can never be POSTed to ``url`` (a Receipt-Delivery-Option),
    or None. Only http and https URLs naming a host are: a file:, ftp: or mailto: URL, or
    one that does not parse, is refused when the message arrives rather than tried again
    and again. (Where the host resolves to is judged before each POST, by inbound-svc.)"""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises for a port that is not a number
    except ValueError:
        return "the Receipt-Delivery-Option is not a URL an asynchronous MDN can be posted to"
    scheme = parts.scheme.lower()
    if scheme not in RECEIPT_SCHEMES:
        shown = f"{scheme}:" if scheme.isascii() and scheme.isalnum() else "its"
        return (
            "the Receipt-Delivery-Option must be an http or https URL: an asynchronous MDN "
            f"is not posted to a {shown} URL"
        )
    if not parts.hostname:
        return "the Receipt-Delivery-Option names no host to post the asynchronous MDN to"
    return None


def mdn_request(headers: Mapping[str, str]) -> MdnRequest | None:
    h = lower_keys(headers)
    return_to = h.get("disposition-notification-to", "").strip()
    if not return_to:
        return None
    async_url = h.get("receipt-delivery-option", "").strip() or None
    signing, failure = _signing(h.get("disposition-notification-options"))
    return MdnRequest(
        mode="async" if async_url else "sync",
        return_to=return_to,
        async_url=async_url,
        signing=signing,
        failure=failure,
    )


def summarize_request(headers: Mapping[str, str]) -> RequestSummary:
    """What the headers say about a message, enough to address an MDN. Never raises."""
    try:
        h = lower_keys(headers)
    except Exception:  # not a mapping of strings: nothing to read
        return RequestSummary(message_id=None, as2_from=None, as2_to=None, mdn=None)
    try:
        mdn = mdn_request(h)
    except Exception:  # odd options still leave the rest readable
        mdn = None
    return RequestSummary(
        message_id=h.get("message-id", "").strip() or None,
        as2_from=unquote_as2_name(h.get("as2-from")),
        as2_to=unquote_as2_name(h.get("as2-to")),
        mdn=mdn,
    )
