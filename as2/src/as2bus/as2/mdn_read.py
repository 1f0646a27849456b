"""Recognising and reading partners' MDNs, tolerant of the usual deviations.

The facts are reported as they are (disposition, modifier, MIC, signature) and the sender
judges them; pyas2lib's own reader is not used: it turns a MIC mismatch into a mere warning and
needs the original message object. Tolerated: no Original-Recipient, x-pkcs7 types, the report
parts in any order or base64-encoded, opaque (pkcs7-mime) signing, LF line ends, a missing
closing boundary, a disposition part labelled text/plain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from email.parser import BytesHeaderParser
from email.policy import compat32

from as2bus.as2 import cms, mime, verify
from as2bus.as2.algorithms import SigningAlg, normalize_signing
from as2bus.as2.headers import lower_keys, unquote_as2_name
from as2bus.as2.model import As2Error, Disposition, MdnError, ReceivedMdn
from as2bus.as2.receive import (
    PKCS7_MIME,
    PKCS7_SIGNATURE,
    as_sent_then_canonical,
    http_entity,
)

REPORT = "multipart/report"


def is_mdn(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a POST is an MDN rather than a message; cheap (reads no more than it must)."""
    try:
        entity = http_entity(headers, body)
        kind = entity.content_type
        if kind == REPORT:
            return True
        if kind == "multipart/signed":
            first = mime.first_part(entity.body, entity.param("boundary") or "")
            return first is not None and first.content_type == REPORT
        if kind in PKCS7_MIME and (entity.param("smime-type") or "signed-data") == "signed-data":
            name, info = cms.load(entity.decoded())
            if name == "signed_data":
                return mime.parse_entity(cms.signed_content(info)).content_type == REPORT
    except Exception:  # not readable as an MDN: the message path says what is wrong with it
        return False
    return False


def parse_mdn(
    headers: Mapping[str, str],
    body: bytes,
    *,
    verify_certs: list[bytes],
    allow_expired: bool = False,
) -> ReceivedMdn:
    """The MDN's facts; ``signature_valid`` False when signed but not by any of ``verify_certs``
    valid at the signing time (``allow_expired``: also by one that has expired since).
    MdnError, and only that, when it is not an MDN or not a readable one."""
    try:
        return _parse_mdn(headers, body, verify_certs, allow_expired)
    except MdnError:
        raise
    except Exception as err:  # what a parser meets in a partner's bytes: still its malformed MDN
        reason = str(err) if isinstance(err, (As2Error, mime.MimeError)) else repr(err)
        raise MdnError(f"not a readable MDN: {reason}") from None


def _parse_mdn(
    headers: Mapping[str, str], body: bytes, verify_certs: list[bytes], allow_expired: bool
) -> ReceivedMdn:
    h = lower_keys(headers)
    entity = http_entity(headers, body)
    if "content-type" not in h:  # some put the MIME headers in the body
        entity = mime.parse_entity(body)
    signed, verified_by, report = False, None, entity
    try:
        if entity.content_type == "multipart/signed":
            parts = mime.split_multipart(entity.body, entity.param("boundary") or "", strict=False)
            signatures = [e for e in map(mime.parse_entity, parts[1:]) if _is_signature(e)]
            _check_signature_part(signatures)
            signed, report = True, mime.parse_entity(parts[0]) if parts else entity
            if parts and signatures:
                verified_by = _verifies(
                    as_sent_then_canonical(parts[0]),
                    signatures[0].decoded(),
                    verify_certs,
                    allow_expired,
                )
        elif entity.content_type in PKCS7_MIME:
            der = entity.decoded()
            name, info = cms.load(der)
            if name != "signed_data":
                raise MdnError(f"not an MDN: a CMS {name}")
            content = cms.signed_content(info)
            signed, report = True, mime.parse_entity(content)
            verified_by = _verifies([content], der, verify_certs, allow_expired)
    except (As2Error, mime.MimeError) as err:
        raise MdnError(f"not a readable MDN: {err}") from None
    if report.content_type != REPORT:
        raise MdnError(f"not an MDN: {report.content_type}")
    fields, text = _report(report)
    original = fields.get("original-message-id") or h.get("original-message-id", "")
    original = original.strip()
    if not original:
        raise MdnError("the MDN names no Original-Message-ID")
    disposition, modifier = _disposition(fields.get("disposition"))
    mic, mic_alg = _mic(fields.get("received-content-mic"))
    return ReceivedMdn(
        original_message_id=original if original.startswith("<") else f"<{original}>",
        as2_from=unquote_as2_name(h.get("as2-from")),
        as2_to=unquote_as2_name(h.get("as2-to")),
        disposition=disposition,
        modifier=modifier,
        text=text,
        mic=mic,
        mic_alg=mic_alg,
        signed=signed,
        signature_valid=(verified_by is not None) if signed else None,
        verified_by=verified_by,
    )


def _is_signature(entity: mime.Entity) -> bool:
    return entity.content_type in PKCS7_SIGNATURE


def _check_signature_part(signatures: list[mime.Entity]) -> None:
    """A signature part missing or not CMS SignedData makes a malformed MDN, not one whose
    signature does not verify."""
    if not signatures:
        raise MdnError("not a readable MDN: a multipart/signed without a signature part")
    name, _ = cms.load(signatures[0].decoded())  # As2Error or MimeError: not readable
    if name != "signed_data":
        raise MdnError(f"not a readable MDN: its signature part is a CMS {name}")


def _verifies(
    candidates: Iterable[bytes], signature: bytes, certs: list[bytes], allow_expired: bool
) -> bytes | None:
    """The certificate that verifies the signature, or None when none does."""
    try:
        return verify.verify(candidates, signature, certs, allow_expired=allow_expired).cert
    except As2Error:
        return None


def _report(report: mime.Entity) -> tuple[dict[str, str], str | None]:
    """The disposition fields and the human-readable text, wherever the parts are."""
    parts = mime.split_multipart(report.body, report.param("boundary") or "", strict=False)
    entities = [mime.parse_entity(part) for part in parts]
    text = next((_text(e) for e in entities if e.content_type == "text/plain"), None)
    for entity in entities:
        if entity.content_type == "message/disposition-notification":
            return _fields(entity.decoded()), text
    for entity in entities:  # a disposition part mislabelled (text/plain, octet-stream...)
        fields = _fields(entity.decoded())
        if "original-message-id" in fields or "disposition" in fields:
            return fields, text
    return {}, text


def _text(entity: mime.Entity) -> str:
    charset = entity.param("charset") or "utf-8"
    try:
        return entity.decoded().decode(charset, "replace").strip()
    except LookupError:
        return entity.decoded().decode("utf-8", "replace").strip()


def _fields(block: bytes) -> dict[str, str]:
    """``Name: value`` lines (folded or not), every block of them, names in lower case."""
    fields: dict[str, str] = {}
    for chunk in mime.canonical(block.strip()).split(b"\r\n\r\n"):
        parsed = BytesHeaderParser(policy=compat32).parsebytes(chunk.strip() + b"\r\n\r\n")
        for name, value in parsed.items():
            fields.setdefault(name.lower(), " ".join(str(value).split()))
    return fields


def _disposition(value: str | None) -> tuple[Disposition, str | None]:
    """``automatic-action/MDN-sent-automatically; processed/error: decryption-failed``."""
    if not value:
        return "failed", "the MDN has no Disposition"
    outcome = value.rpartition(";")[2].strip()
    kind, _, detail = outcome.partition(":")
    kind = "".join(kind.split()).lower()
    modifier = detail.strip() or None
    if kind == "processed":
        return "processed", modifier
    if kind == "processed/warning":
        return "processed/warning", modifier
    return "failed", modifier or kind  # processed/error, failed/failure, and anything else


def _mic(value: str | None) -> tuple[str | None, SigningAlg | None]:
    if not value:
        return None, None
    mic, _, alg = value.partition(",")
    try:
        return mic.strip() or None, normalize_signing(alg.strip()) if alg.strip() else None
    except ValueError:
        return mic.strip() or None, None
