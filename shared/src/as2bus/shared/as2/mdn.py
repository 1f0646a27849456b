"""MDNs (RFC 4130 §7.4, RFC 8098): build ours, recognise and read the partner's.

Reading is ours rather than pyas2lib's: its parser turns a MIC mismatch into a mere warning
and needs the original message object. Here the MDN's facts are reported as they are
(disposition, modifier, MIC, signature), and the sender decides what they mean.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Mapping
from types import SimpleNamespace

from as2bus.shared.algorithms import normalize_signing
from as2bus.shared.as2._lib import asymmetric, pyas2, pyas2_cms, pyas2_errors, pyas2_utils
from as2bus.shared.as2.headers import lower_keys, raw_message, unquote_as2_name
from as2bus.shared.as2.message import key_bundle
from as2bus.shared.as2.mic import micalg_name
from as2bus.shared.as2.model import (
    As2Error,
    Disposition,
    LocalParty,
    MdnError,
    OutgoingMdn,
    ReceivedMdn,
    ReceivedMessage,
    RequestSummary,
)

CONFIRM_TEXT = "The AS2 message has been received and processed. Thank you."
FAILED_TEXT = "The AS2 message could not be processed; see the disposition for the reason."
_SIGNATURE_TYPES = ("application/pkcs7-signature", "application/x-pkcs7-signature")


def build_mdn(
    request: ReceivedMessage | RequestSummary,
    *,
    local: LocalParty | None,
    error: As2Error | None = None,
    warning: str | None = None,
    text: str | None = None,
) -> OutgoingMdn:
    if request.mdn is None:
        raise ValueError("the sender asked for no MDN")
    signing = request.mdn.signing if local is not None and local.signing is not None else None
    headers = {"as2-to": request.as2_to or "", "as2-from": request.as2_from or ""}
    if signing is not None:
        headers["disposition-notification-options"] = (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            f"signed-receipt-micalg=optional, {signing.value}"
        )
    mic = getattr(request, "mic", None) if error is None else None
    mic_alg = getattr(request, "mic_alg", None)
    received = SimpleNamespace(
        receiver=pyas2.Organization(
            as2_name=request.as2_to or "unknown",
            sign_key=key_bundle(local.signing)
            if signing is not None and local and local.signing
            else None,
            mdn_confirm_text=text or CONFIRM_TEXT,
        ),
        sender=pyas2.Partner(
            as2_name=request.as2_from or "unknown",
            validate_certs=False,
            mdn_confirm_text=text or CONFIRM_TEXT,
        ),
        message_id=(request.message_id or "").strip("<>"),
        headers=headers,
        mic=mic.encode() if mic else None,
        digest_alg=micalg_name(mic_alg) if mic_alg else None,
    )
    mdn = pyas2.Mdn()
    if error is not None:
        mdn.build(
            message=received,
            status="processed/error",
            detailed_status=error.modifier,
            failed_text=FAILED_TEXT,
        )
    elif warning is not None:
        mdn.build(message=received, status="processed/warning", detailed_status=warning)
    else:
        mdn.build(message=received, status="processed")
    out = {k: " ".join(str(v).split()) for k, v in mdn.headers.items() if k.lower() != "user-agent"}
    out["User-Agent"] = "as2bus"
    return OutgoingMdn(headers=out, body=mdn.content)


def is_mdn(headers: Mapping[str, str], body: bytes) -> bool:
    content_type = lower_keys(headers).get("content-type", "").lower()
    if content_type.startswith("multipart/report"):
        return True
    if content_type.startswith("multipart/signed"):
        return b"multipart/report" in body[:8192].lower()
    return False


def parse_mdn(headers: Mapping[str, str], body: bytes, *, verify_certs: list[bytes]) -> ReceivedMdn:
    raw = raw_message(headers, body)
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    report: email.message.Message = message
    signed = message.get_content_type() == "multipart/signed"
    signature_valid: bool | None = None
    if signed:
        payload = message.get_payload()
        parts = (
            [p for p in payload if isinstance(p, email.message.Message)]
            if isinstance(payload, list)
            else []
        )
        if len(parts) != 2:
            raise MdnError("a signed MDN must have two parts")
        report = parts[0]
        signature = next(
            (p.get_payload(decode=True) for p in parts if p.get_content_type() in _SIGNATURE_TYPES),
            None,
        )
        boundary = ("--" + (message.get_boundary() or "")).encode()
        signature_valid = isinstance(signature, bytes) and _verifies(
            raw, boundary, report, signature, verify_certs
        )
    if report.get_content_type() != "multipart/report":
        raise MdnError(f"not an MDN: {report.get_content_type()}")
    fields, text = _report_fields(report)
    original = fields.get("original-message-id", "").strip()
    if not original:
        raise MdnError("the MDN names no Original-Message-ID")
    disposition, modifier = _disposition(fields.get("disposition", ""))
    mic, mic_alg = None, None
    if received_mic := fields.get("received-content-mic"):
        value, _, alg = received_mic.partition(",")
        mic = value.strip() or None
        try:
            mic_alg = normalize_signing(alg) if alg.strip() else None
        except ValueError:
            mic_alg = None
    h = lower_keys(headers)
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
        signature_valid=signature_valid,
    )


def _verifies(
    raw: bytes, boundary: bytes, report: email.message.Message, signature: bytes, certs: list[bytes]
) -> bool:
    candidates = [pyas2_utils.extract_first_part(raw, boundary), pyas2_utils.canonicalize(report)]
    for cert in certs:
        loaded = asymmetric.load_certificate(cert)
        for content in candidates:
            try:
                pyas2_cms.verify_message(content, signature, loaded)
                return True
            except (pyas2_errors.AS2Exception, ValueError):
                continue
    return False


def _report_fields(report: email.message.Message) -> tuple[dict[str, str], str | None]:
    fields: dict[str, str] = {}
    text = None
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "text/plain" and text is None:
            payload = part.get_payload(decode=True)
            text = (
                payload.decode("utf-8", "replace").strip() if isinstance(payload, bytes) else None
            )
        elif ctype == "message/disposition-notification":
            inner = part.get_payload()
            blocks = inner if isinstance(inner, list) else [email.message_from_string(str(inner))]
            for block in blocks:
                if not isinstance(block, email.message.Message):
                    continue
                fields.update({k.lower(): " ".join(str(v).split()) for k, v in block.items()})
    return fields, text


def _disposition(value: str) -> tuple[Disposition, str | None]:
    """``automatic-action/MDN-sent-automatically; processed/error: decryption-failed``."""
    outcome = value.rpartition(";")[2].strip()
    kind, _, modifier = outcome.partition(":")
    kind = kind.strip().lower()
    detail = modifier.strip() or None
    if kind == "processed":
        return "processed", detail
    if kind.startswith("processed/warning"):
        return "processed/warning", detail
    return "failed", detail or kind
