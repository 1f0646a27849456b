"""Building MDNs (RFC 4130 §7.4, RFC 8098): multipart/report, signed when asked and possible."""

from __future__ import annotations

from email.utils import formatdate

from as2bus.as2 import mime
from as2bus.as2.algorithms import SignatureScheme
from as2bus.as2.headers import USER_AGENT, quote_as2_name
from as2bus.as2.message import AS2_VERSION, EDIINT_FEATURES, new_message_id
from as2bus.as2.mic import micalg_name
from as2bus.as2.model import (
    As2Error,
    LocalParty,
    OutgoingMdn,
    ReceivedMessage,
    RequestSummary,
)
from as2bus.as2.stages import signed_multipart

__all__ = ["USER_AGENT", "build_mdn"]


def _disposition(
    request: ReceivedMessage | RequestSummary, error: As2Error | None, warning: str | None
) -> str:
    """RFC 4130 §7.4.3/§7.5.3: processed, processed/warning, processed/error: <modifier>, or
    failed/Failure when a required signed-receipt option cannot be honoured."""
    outcome = "processed"
    if request.mdn is not None and request.mdn.failure is not None:
        outcome = f"failed/Failure: {request.mdn.failure}"
    elif error is not None:
        outcome = f"processed/error: {error.modifier}"
    elif warning is not None:
        outcome = f"processed/warning: {' '.join(warning.split())}"
    return f"automatic-action/MDN-sent-automatically; {outcome}"


def _text(
    request: ReceivedMessage | RequestSummary, error: As2Error | None, warning: str | None
) -> str:
    about = f"The AS2 message {request.message_id or ''} from {request.as2_from or 'you'}"
    about = " ".join(about.split())
    if request.mdn is not None and request.mdn.failure is not None:
        return f"{about} was not processed: the requested receipt has {request.mdn.failure}."
    if error is not None:
        return f"{about} could not be processed ({error.modifier}): {error.reason}"
    if warning is not None:
        return f"{about} has been received and processed, with a warning: {warning}"
    return f"{about} has been received and processed."


def build_mdn(
    request: ReceivedMessage | RequestSummary,
    *,
    local: LocalParty | None,
    error: As2Error | None = None,
    warning: str | None = None,
    text: str | None = None,
    scheme: SignatureScheme = SignatureScheme.PKCS1V15,
) -> OutgoingMdn:
    """The MDN for ``request``: its body and the HTTP headers to answer (sync) or POST (async)
    with. Signed with ``local.signing`` when the sender asked for a signed receipt, by
    ``scheme`` (the partnership's ``RemoteParty.signature_scheme`` when it is known)."""
    if request.mdn is None:
        raise ValueError("the sender asked for no MDN")
    us = request.as2_to or (local.as2_id if local else None) or "unknown"
    fields = [
        ("Reporting-UA", USER_AGENT),
        ("Original-Recipient", f"rfc822; {us}"),
        ("Final-Recipient", f"rfc822; {us}"),
        ("Original-Message-ID", request.message_id or "<unknown>"),
        ("Disposition", _disposition(request, error, warning)),
    ]
    processed = error is None and request.mdn.failure is None
    if processed and isinstance(request, ReceivedMessage) and request.mic and request.mic_alg:
        fields.append(("Received-Content-MIC", f"{request.mic}, {micalg_name(request.mic_alg)}"))
    report_body = "".join(f"{k}: {mime.check_header_value(k, v)}\r\n" for k, v in fields)
    human = (text or _text(request, error, warning)).replace("\r\n", "\n").replace("\n", "\r\n")
    charset = "us-ascii" if human.isascii() else "utf-8"
    parts = [
        mime.render(
            [
                ("Content-Type", f"text/plain; charset={charset}"),
                ("Content-Transfer-Encoding", "7bit" if charset == "us-ascii" else "8bit"),
            ],
            human.encode("utf-8") + b"\r\n",
        ),
        mime.render(
            [
                ("Content-Type", "message/disposition-notification"),
                ("Content-Transfer-Encoding", "7bit"),
            ],
            report_body.encode("utf-8"),
        ),
    ]
    content_type, body = mime.multipart("report", parts, report_type="disposition-notification")
    signing = request.mdn.signing
    if signing is not None and local is not None and local.signing is not None:
        report = mime.render([("Content-Type", content_type)], body)
        content_type, body = signed_multipart(report, signing, local.signing, scheme)
    headers = {
        "AS2-Version": AS2_VERSION,
        "EDIINT-Features": EDIINT_FEATURES,
        "Message-ID": new_message_id(),
        "AS2-From": quote_as2_name(us, strict=False),
        "AS2-To": quote_as2_name(request.as2_from or "unknown", strict=False),
        "Subject": "Message Disposition Notification",
        "Date": formatdate(usegmt=True),
        "MIME-Version": "1.0",
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "User-Agent": USER_AGENT,
    }
    return OutgoingMdn(headers=headers, body=body)
