"""Parsing AS2 messages held in memory, and what the parser (``spooled``, the one that reads
every layer, from a file or from memory) and the MDN reader share: addressing, the rules a
partnership sets, the MIC of an unsigned message, the result."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from as2bus.as2 import mime
from as2bus.as2.algorithms import SigningAlg
from as2bus.as2.headers import lower_keys, mdn_request, receipt_url_refusal, summarize_request
from as2bus.as2.mic import mic_of
from as2bus.as2.model import (
    As2Error,
    LocalParty,
    PartyLookup,
    ReceivedMessage,
    RemoteParty,
)

PKCS7_MIME = ("application/pkcs7-mime", "application/x-pkcs7-mime")
PKCS7_SIGNATURE = ("application/pkcs7-signature", "application/x-pkcs7-signature")
#: Several documents in one message (RFC 6362 multiple attachments), the first the root.
RELATED = "multipart/related"


@dataclass
class Unwrapped:
    entity: mime.Entity
    layers: list[str] = field(default_factory=list)  # "encrypted", "compressed", "signed"
    mic: str | None = None
    mic_alg: SigningAlg | None = None
    verified_by: bytes | None = None  # the partner's certificate that verified the signature
    signed_at: datetime | None = None  # the signature's signing time, when it has one
    signature_key: str | None = None  # ``verify.Signature.key`` of the verified signature
    #: What the MIC covers if no signature does (RFC 4130 §7.3.1): the decrypted MIME entity,
    #: else the body as received. Read only if needed, dropped once a signature is verified.
    unsigned_content: Callable[[], Iterable[bytes]] | None = None


def http_entity(headers: Mapping[str, str], body: bytes) -> mime.Entity:
    """The POST as a MIME entity: its Content-* headers and the body as sent."""
    h = lower_keys(headers)
    names = ("content-type", "content-transfer-encoding", "content-disposition")
    fields: list[tuple[str, str]] = [(k, h[k]) for k in names if k in h]
    entity = mime.Entity(mime.headers_of(fields), body)
    if entity.content_type.startswith("multipart/") and entity.transfer_encoding == "base64":
        # Not valid MIME (a multipart is never encoded), but some send it: decode only when
        # the body does not already show its boundary.
        boundary = entity.param("boundary") or ""
        if f"--{boundary}".encode() not in body:
            fields = [f for f in fields if f[0] != "content-transfer-encoding"]
            return mime.Entity(mime.headers_of(fields), entity.decoded())
    return entity


def addressed(
    headers: Mapping[str, str], lookup: PartyLookup
) -> tuple[str, LocalParty, RemoteParty]:
    """(Message-ID, our party, the partner) from the headers, or why the message is refused."""
    summary = summarize_request(headers)
    if not (summary.message_id and summary.as2_from and summary.as2_to):
        raise As2Error(
            "unexpected-processing-error", "Message-ID, AS2-From and AS2-To are required"
        )
    local, remote = lookup(summary.as2_from, summary.as2_to)
    if summary.mdn is not None and summary.mdn.failure is not None:
        raise As2Error(
            "unexpected-processing-error",
            f"the requested signed receipt cannot be given: {summary.mdn.failure}",
        )
    if summary.mdn is not None and summary.mdn.async_url is not None:
        unusable = receipt_url_refusal(summary.mdn.async_url)
        if unusable is not None:
            raise As2Error("unexpected-processing-error", unusable)
    return summary.message_id, local, remote


def require_encryption(outer_type: str, remote: RemoteParty) -> None:
    if remote.require_encrypted and outer_type not in PKCS7_MIME:
        raise As2Error(
            "insufficient-message-security",
            f"messages from {remote.as2_id} must be encrypted; this one is {outer_type}",
        )


def unreadable(err: Exception) -> As2Error:
    """What a parser's surprise means: still the partner's malformed message."""
    if isinstance(err, mime.MimeError):
        return As2Error("unexpected-processing-error", f"the message could not be read: {err}")
    return As2Error(
        "unexpected-processing-error",
        f"the message could not be read ({type(err).__name__}: {err})",
    )


def check_leaf(kind: str, layers: list[str], remote: RemoteParty) -> None:
    """The innermost entity: was it protected as the partnership requires, and is it one
    document, or several in a multipart/related (RFC 6362)?"""
    if remote.require_signed and "signed" not in layers:
        raise As2Error(
            "insufficient-message-security", f"messages from {remote.as2_id} must be signed"
        )
    if remote.require_encrypted and "encrypted" not in layers:
        raise As2Error(
            "insufficient-message-security", f"messages from {remote.as2_id} must be encrypted"
        )
    if kind.startswith("multipart/") and kind != RELATED:
        raise As2Error(
            "unexpected-processing-error",
            f"a {kind} (several documents in one message) is not supported: "
            f"send one document per message, or several in a {RELATED} (RFC 6362)",
        )


def as_sent_then_canonical(content: bytes) -> Iterator[bytes]:
    """The signed bytes as they came; then, for a signer that signed canonical text (CRLF) and
    a transport that changed line ends, the CRLF form (only computed if needed)."""
    yield content
    crlf = mime.canonical(content)
    if crlf != content:
        yield crlf


def once(got: Unwrapped, layer: str) -> None:
    """AS2 has at most one of each; more is a nesting trick (e.g. a chain of zip bombs)."""
    if layer in got.layers:
        raise As2Error("unexpected-processing-error", f"the message is {layer} more than once")
    got.layers.append(layer)


def unsigned_mic(got: Unwrapped, headers: Mapping[str, str]) -> None:
    """The MIC of a message no signature covers, for its MDN (RFC 4130 §7.3.1): over the
    decrypted MIME entity (header fields and content, as decrypted) of an encrypted message,
    over the body as received of a plain one; with the first algorithm of the sender's
    ``signed-receipt-micalg`` we support, SHA-256 if it names none. Nothing without an MDN."""
    if got.mic is not None or got.unsigned_content is None:
        return
    request = mdn_request(lower_keys(headers))
    if request is None:
        return
    alg = request.signing or SigningAlg.SHA256
    digest = hashlib.new(alg.value)
    for chunk in got.unsigned_content():
        digest.update(chunk)
    got.mic, got.mic_alg = mic_of(digest.digest()), alg


def received(
    message_id: str,
    parties: tuple[LocalParty, RemoteParty],
    got: Unwrapped,
    payload: bytes,
    headers: Mapping[str, str],
    limit: int,
) -> ReceivedMessage:
    if len(payload) > limit:
        raise As2Error("unexpected-processing-error", f"the document exceeds {limit} bytes")
    h = lower_keys(headers)
    local, remote = parties
    return ReceivedMessage(
        message_id=message_id,
        as2_from=remote.as2_id,
        as2_to=local.as2_id,
        payload=payload,
        filename=safe_filename(got.entity.filename) or request_filename(h),
        content_type=got.entity.content_type,
        subject=h.get("subject"),
        signed="signed" in got.layers,
        encrypted="encrypted" in got.layers,
        compressed="compressed" in got.layers,
        mic=got.mic,
        mic_alg=got.mic_alg,
        mdn=mdn_request(h),
        verified_by=got.verified_by,
        signed_at=got.signed_at,
        signature_key=got.signature_key,
    )


#: The names products give the CMS layers themselves, not the document.
_CMS_NAMES = ("smime.p7m", "smime.p7s", "smime.p7z")


def request_filename(lowered_headers: Mapping[str, str]) -> str | None:
    """The filename of the HTTP request's own Content-Disposition, for a document whose entity
    names none: some products put it only there (encrypted-only messages especially). The
    name of a CMS layer (``smime.p7m``) is not the document's and does not count."""
    value = lowered_headers.get("content-disposition")
    if not value:
        return None
    name = safe_filename(
        mime.Entity(mime.headers_of([("Content-Disposition", value)]), b"").filename
    )
    return None if name is None or name.lower() in _CMS_NAMES else name


#: C0 and C1 control characters and DEL: in a name shown in a terminal or a log they would
#: be escape sequences (colours, a window title, hidden text), and no file name needs them.
#: Also Unicode's bidirectional controls (embeddings, overrides, isolates, the marks): a
#: right-to-left override shows "invoice\u202efdp.exe" as "invoiceexe.pdf" in a console, a
#: terminal or a file manager.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def safe_filename(name: str | None) -> str | None:
    """The partner's file name without directories ("../../etc/x" → "x") and with each
    control character, bidirectional ones included, replaced by "_" (ESC "[31m" →
    "_[31m")."""
    if not name:
        return None
    base = PurePosixPath(_CONTROLS.sub("_", name).replace("\\", "/")).name
    return base if base not in ("", ".", "..") else None
