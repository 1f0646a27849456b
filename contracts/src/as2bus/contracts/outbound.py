"""Outbound contracts, v1: the send command other systems publish, and what happens to it.

Command: ``SendRequest`` on ``as2.cmd.send`` (the commands stream: work queue, consumed once),
published with ``Nats-Msg-Id`` set to its ``request_id``.
Events: MessageQueued → AttemptStarted (one per attempt) → MessageSent → MessageRetrying …
and then exactly one terminal event: MessageDelivered or MessageFailed. A request refused at
once gets a MessageRejected (direction "outbound") instead, and nothing else. Every event
carries the request_id, and the AS2 Message-ID once it exists (which is then the event's
correlation_id).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from as2bus.contracts.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.contracts.config import MdnSignature
from as2bus.contracts.content_types import MIME_TYPE_PATTERN, mime_type_problem
from as2bus.contracts.envelope import Command, Contract, Event, register
from as2bus.contracts.messages import DocumentRef, MdnDisposition
from as2bus.contracts.subjects import SEND_SUBJECT as SEND_SUBJECT  # the command's, re-exported
from as2bus.contracts.subjects import event_subject

#: Documents up to this size may travel inline in the command; larger ones go by reference.
MAX_INLINE_BYTES = 256 * 1024
#: Documents in one AS2 message, attachments included.
MAX_ATTACHMENTS = 20
#: The longest request id (characters).
MAX_REQUEST_ID_LENGTH = 200
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def decoded_size(value: str) -> int:
    """The bytes a base64 text decodes to, exactly (padding counted out), without decoding
    it: the inline limit is checked before the text is decoded."""
    return len(value) * 3 // 4 - value[-2:].count("=")


class SendOverrides(Command):
    """Per-message changes to the partner's settings; a field left out keeps the partner's."""

    signing: SigningAlg | None = Field(
        default=None,
        description="Signature digest (a message cannot be sent unsigned this way: leave the "
        "field out to keep the partner's)",
    )
    encryption: EncryptionAlg | None = Field(default=None, description="Content encryption")
    compression: Compression | None = Field(default=None, description="Compression")
    encoding: TransferEncoding | None = Field(
        default=None, description="Content-Transfer-Encoding of the body"
    )
    mdn_mode: Literal["sync", "async", "none"] | None = Field(
        default=None, description="How the partner returns its receipt"
    )


class _DocumentFields(Command):
    """A document of a send request: exactly one of ``document`` and ``inline_base64``."""

    document: DocumentRef | None = Field(
        default=None, description="A document stored in the object store beforehand"
    )
    inline_base64: str | None = Field(
        default=None, description="The document itself, base64 (small documents only)"
    )
    filename: str | None = Field(
        default=None, description="Sent as the Content-Disposition filename"
    )
    content_type: str = Field(
        default="application/edi-x12",
        description="The document's MIME type: type/subtype, optionally followed by "
        "; parameters (e.g. application/xml; charset=utf-8)",
        json_schema_extra={"pattern": MIME_TYPE_PATTERN},  # what _mime_type checks
    )

    @field_validator("document", mode="before")
    @classmethod
    def _strict_document(cls, value: Any) -> Any:
        # DocumentRef is shared with events, which are tolerant; in a command it is strict.
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(DocumentRef.model_fields))
            if unknown:
                raise ValueError(f"unknown field(s) {', '.join(unknown)}")
            sha256 = value.get("sha256")
            if isinstance(sha256, str) and not _SHA256_HEX.fullmatch(sha256):
                raise ValueError("sha256 must be 64 lowercase hex digits")
        return value

    @field_validator("content_type")
    @classmethod
    def _mime_type(cls, value: str) -> str:
        # A sentence of our own, not pydantic's "should match pattern" with the pattern in it.
        problem = mime_type_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("inline_base64")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is not None:
            if decoded_size(value) > MAX_INLINE_BYTES:
                raise ValueError(
                    f"inline documents are limited to {MAX_INLINE_BYTES} bytes; store larger "
                    "ones in the object store and send a document reference"
                )
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("not valid base64") from None
        return value

    @model_validator(mode="after")
    def _one_document(self) -> _DocumentFields:
        if (self.document is None) == (self.inline_base64 is None):
            raise ValueError("give exactly one of document or inline_base64")
        return self

    def inline_bytes(self) -> bytes | None:
        return base64.b64decode(self.inline_base64) if self.inline_base64 is not None else None


class SendAttachment(_DocumentFields):
    """One more document in the same AS2 message (RFC 6362 multiple attachments)."""


#: The Subject of a message whose send request names none, to a partner with no default
#: subject of its own.
DEFAULT_SUBJECT = "AS2 Message"


class SendRequest(_DocumentFields):
    """Send a document to a partner: exactly one of ``inline_base64`` (up to 256 KiB) and
    ``document`` (a reference to an object you stored in the ``as2_documents`` bucket); with
    ``attachments``, several documents in one AS2 message (RFC 6362: multipart/related, the
    first document first)."""

    request_id: str = Field(
        min_length=1,
        max_length=MAX_REQUEST_ID_LENGTH,
        description="Your idempotency key, unique per document: the same id again with the "
        "same body is the same request (sent once); with another body it is refused "
        "(REQUEST_ID_REUSED). Also the command's Nats-Msg-Id header",
    )
    station: str = Field(min_length=1, description="Our AS2 ID, the sender (AS2-From)")
    partner: str = Field(min_length=1, description="The partner's AS2 ID (AS2-To)")
    subject: str | None = Field(
        default=None,
        description="The AS2 Subject header; absent: the partner's default subject (its "
        f"default_subject), else {DEFAULT_SUBJECT!r}",
    )
    overrides: SendOverrides | None = Field(
        default=None, description="Changes to the partner's settings for this message only"
    )
    replays: str | None = Field(
        default=None,
        max_length=998,
        description="The AS2 Message-ID of an earlier message this one sends again (a resend: "
        "a new message with a new Message-ID; the track log links the two)",
    )
    attachments: list[SendAttachment] = Field(
        default_factory=list,
        max_length=MAX_ATTACHMENTS - 1,
        description="More documents in the same message, after the first (RFC 6362; the "
        f"partner must support multiple attachments); at most {MAX_ATTACHMENTS} documents, "
        f"their inline ones {MAX_INLINE_BYTES} bytes together",
    )

    @model_validator(mode="after")
    def _inline_total(self) -> SendRequest:
        inline = [d.inline_base64 for d in (self, *self.attachments) if d.inline_base64]
        if sum(decoded_size(v) for v in inline) > MAX_INLINE_BYTES:
            raise ValueError(
                f"inline documents are limited to {MAX_INLINE_BYTES} bytes together; store "
                "larger ones in the object store and send document references"
            )
        return self


class QueuedAttachment(Contract):
    """One more document of a message being sent (RFC 6362), after the first."""

    filename: str | None
    content_type: str
    size: int
    #: None when the gateway keeps the (small) document in its database, not the store.
    document: DocumentRef | None = None


class OutboundMessage(Contract):
    request_id: str
    message_id: str
    station: str
    partner: str
    filename: str | None
    content_type: str
    size: int
    document: DocumentRef | None = None
    #: A resend: the Message-ID of the message this one sends again.
    replays: str | None = None
    #: The documents after the first, in order (RFC 6362 multiple attachments).
    attachments: list[QueuedAttachment] = Field(default_factory=list)
    #: The AS2 Subject the message is sent with (the request's, else the partner's default);
    #: None in events from before it was carried here.
    subject: str | None = None


class AttemptStart(Contract):
    request_id: str
    message_id: str
    station: str
    partner: str
    attempt: int
    started_at: datetime


class SendAttempt(Contract):
    request_id: str
    message_id: str
    station: str
    partner: str
    attempt: int
    http_status: int | None = None
    mdn_mode: Literal["sync", "async", "none"]
    mic: str | None = None  # what the MDN must report
    #: The MDN signature we asked for; None in events from before it was stated.
    mdn_signature: MdnSignature | None = None
    #: The POST's headers (AS2 ones; never credentials), for the record.
    headers: dict[str, str] | None = None
    #: SHA-256 fingerprints (cert-svc's form) of our certificate that signed the message and
    #: of the partner's it was encrypted for; None when not signed / not encrypted.
    signed_with: str | None = None
    encrypted_for: str | None = None
    #: This attempt's message as sent (``headers`` and the body byte for byte), in the object
    #: store for the retention; None when not kept.
    raw: DocumentRef | None = None
    #: The URL the message was finally posted to when the partner redirected it (307/308,
    #: followed as its TLS settings allow); None: its own URL. (Added in v1 as an optional
    #: field: an older outbound-svc sends none.)
    posted_to: str | None = None


#: The ``http_status`` of a failed attempt (added in v1 as an optional field: an older
#: outbound-svc sends none, and a reader then has only the reason's words).
_ANSWERED_STATUS = (
    "The HTTP status the partner answered the attempt with, when it answered over HTTP (a "
    "4xx or 5xx; a 2xx when what came with it failed, e.g. its sync MDN); absent for "
    "connection failures, TLS, timeouts, refusals before sending, and failures that come "
    "after the attempt (an async MDN, its deadline)"
)


class Retry(Contract):
    request_id: str
    message_id: str
    station: str
    partner: str
    attempt: int
    reason: str
    next_attempt_at: datetime
    http_status: int | None = Field(default=None, description=_ANSWERED_STATUS)


class Failure(Contract):
    request_id: str
    message_id: str | None
    station: str
    partner: str
    attempts: int
    reason: str = Field(description="One sentence a person can act on")
    code: str | None = Field(
        default=None,
        description="A machine code for the reason (always set since 2026-12; see "
        "docs/integrating.md): partner-refused, attempts-exhausted, mdn-unreadable, "
        "mdn-deadline, mdn-failed, mdn-signature-invalid, mdn-unsigned, mdn-without-mic, "
        "mic-mismatch, partnership-unavailable, certificate-unavailable, "
        "document-too-large-for-memory, unexpected-error",
    )
    http_status: int | None = Field(default=None, description=_ANSWERED_STATUS)


class MdnSummary(Contract):
    """The partner's receipt, as read and checked."""

    mode: Literal["sync", "async"]
    disposition: MdnDisposition
    modifier: str | None = None
    signed: bool
    signature_valid: bool | None = Field(
        default=None, description="None when unsigned (or not verified)"
    )
    mic: str | None = Field(default=None, description="The Received-Content-MIC it reported")
    mic_matches: bool | None = Field(
        default=None, description="Whether that MIC is the one we computed; None: not compared"
    )


class Delivery(Contract):
    request_id: str
    message_id: str
    station: str
    partner: str
    attempts: int
    status: Literal["delivered", "delivered-with-warnings"]
    code: str | None = Field(
        default=None, description="With warnings: partner-warning or mdn-unsigned"
    )
    reason: str | None = Field(default=None, description="With warnings: what they are")
    mdn: MdnSummary | None = Field(
        default=None,
        description="The receipt that proves delivery; None when the partnership asks for no "
        "MDN (the partner's HTTP 2xx is then the delivery)",
    )


@register
class MessageQueued(Event):
    subject = event_subject("message", "outbound", "queued")
    summary = "A send request was accepted; the AS2 message has its Message-ID."
    data: OutboundMessage


@register
class AttemptStarted(Event):
    subject = event_subject("message", "outbound", "attempt-started")
    summary = (
        "An attempt started: the message is being built and POSTed to the partner; its "
        "outcome (MessageSent, MessageRetrying or MessageFailed) follows."
    )
    data: AttemptStart


@register
class MessageSent(Event):
    subject = event_subject("message", "outbound", "sent")
    summary = "The partner accepted the HTTP POST; the MDN (if any) is awaited."
    data: SendAttempt


@register
class MessageRetrying(Event):
    subject = event_subject("message", "outbound", "retrying")
    summary = "An attempt failed in a way worth retrying; the next one is scheduled."
    data: Retry


@register
class MessageDelivered(Event):
    subject = event_subject("message", "outbound", "delivered")
    summary = (
        "Terminal: the partner has the document (its MDN proves it, or no MDN was asked for). "
        "Exactly one MessageDelivered or MessageFailed ends every accepted request."
    )
    data: Delivery


@register
class MessageFailed(Event):
    subject = event_subject("message", "outbound", "failed")
    summary = (
        "Terminal: the message could not be delivered; no more attempts will be made. Exactly "
        "one MessageDelivered or MessageFailed ends every accepted request."
    )
    data: Failure
