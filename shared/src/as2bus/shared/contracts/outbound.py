"""Outbound contracts, v1: the send command other systems publish, and what happens to it.

Command: ``SendRequest`` on ``as2.cmd.send`` (the commands stream: work queue, consumed once).
Events: MessageQueued → AttemptStarted (one per attempt) → MessageSent → MdnReceived
(delivered) / MessageRetrying / MessageFailed;
a refused request is a MessageRejected (direction "outbound"). The correlation id of each event
is the AS2 Message-ID once it exists, the request id before that.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from as2bus.shared.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.shared.contracts.config import MdnSignature
from as2bus.shared.contracts.envelope import Contract, Event, register
from as2bus.shared.contracts.messages import DocumentRef
from as2bus.shared.subjects import event_subject

SEND_SUBJECT = "as2.cmd.send"
#: Documents up to this size may travel inline in the command; larger ones go by reference.
MAX_INLINE_BYTES = 256 * 1024


class SendOverrides(Contract):
    """Per-message changes to the partner's settings."""

    signing: SigningAlg | None = None
    encryption: EncryptionAlg | None = None
    compression: Compression | None = None
    encoding: TransferEncoding | None = None
    mdn_mode: Literal["sync", "async", "none"] | None = None


class SendRequest(Contract):
    request_id: str = Field(min_length=1, max_length=200, description="Idempotency key")
    station: str = Field(description="Our AS2 ID (AS2-From)")
    partner: str = Field(description="The partner's AS2 ID (AS2-To)")
    document: DocumentRef | None = None
    inline_base64: str | None = Field(default=None, description="Small documents only")
    filename: str | None = None
    content_type: str = "application/edi-x12"
    subject: str = "AS2 Message"
    overrides: SendOverrides | None = None

    @model_validator(mode="after")
    def _one_document(self) -> SendRequest:
        if (self.document is None) == (self.inline_base64 is None):
            raise ValueError("give exactly one of document or inline_base64")
        if self.inline_base64 is not None and len(self.inline_base64) * 3 // 4 > MAX_INLINE_BYTES:
            raise ValueError(f"inline documents are limited to {MAX_INLINE_BYTES} bytes")
        return self

    def inline_bytes(self) -> bytes | None:
        return base64.b64decode(self.inline_base64) if self.inline_base64 is not None else None


class OutboundMessage(Contract):
    request_id: str
    message_id: str
    station: str
    partner: str
    filename: str | None
    content_type: str
    size: int
    document: DocumentRef | None = None


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


class Retry(Contract):
    request_id: str
    message_id: str
    station: str
    partner: str
    attempt: int
    reason: str
    next_attempt_at: datetime


class Failure(Contract):
    request_id: str
    message_id: str | None
    station: str
    partner: str
    attempts: int
    reason: str  # a person can act on it, e.g. "CERT_HAS_EXPIRED: ..." or "MIC mismatch"
    #: A machine code for the reason (e.g. ``mic-mismatch``); None: the reason's first word.
    code: str | None = None


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
class MessageFailed(Event):
    subject = event_subject("message", "outbound", "failed")
    summary = "The message could not be delivered; no more attempts will be made."
    data: Failure
