"""Message and MDN contracts, v1: what happens to AS2 messages in both directions.

Documents never travel in events: ``DocumentRef`` points into the JetStream object store.
The correlation id of every message event is the AS2 Message-ID.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from as2bus.contracts.envelope import Contract, Event, register
from as2bus.contracts.subjects import event_subject

Direction = Literal["inbound", "outbound"]
MdnDisposition = Literal["processed", "processed/warning", "failed"]

#: Object store bucket for documents (received, and to be sent).
DOCUMENTS_BUCKET = "as2_documents"


class DocumentRef(Contract):
    """A document in the JetStream object store."""

    bucket: str = Field(description=f"The object store bucket: always {DOCUMENTS_BUCKET!r}")
    name: str = Field(min_length=1, description="The object's name in the bucket")
    size: int = Field(ge=0, description="The document's size in bytes")
    sha256: str = Field(description="SHA-256 of the document's bytes, 64 lowercase hex digits")


class ReceivedAttachment(Contract):
    """One more document of a received message (RFC 6362), after the first."""

    document: DocumentRef
    filename: str | None
    content_type: str


class ReceivedDocument(Contract):
    message_id: str
    station: str  # our AS2 ID (AS2-To)
    partner: str  # their AS2 ID (AS2-From)
    filename: str | None
    content_type: str
    subject: str | None
    document: DocumentRef
    signed: bool
    encrypted: bool
    compressed: bool
    mic: str | None
    mic_alg: str | None
    received_at: datetime
    #: The partner's request headers (for the record; authorization headers left out).
    headers: dict[str, str] | None = None
    #: SHA-256 fingerprint (cert-svc's form) of the partner's certificate that verified the
    #: signature; None when unsigned.
    signed_with: str | None = None
    #: The message as received, headers (as in ``headers``) and body byte for byte: the record
    #: of what the partner signed, kept for the retention; None when not kept.
    raw: DocumentRef | None = None
    #: The message's documents after the first (``document``), in order: a partner that
    #: sent several in one message (RFC 6362 multiple attachments). Empty for one document.
    attachments: list[ReceivedAttachment] = Field(default_factory=list)


class Rejection(Contract):
    direction: Direction
    message_id: str | None = Field(
        description="inbound: the refused message's Message-ID, when it could be read; "
        "outbound: null, except REQUEST_ID_REUSED: the Message-ID of the message accepted "
        "under that request id before (it stands; this request was not sent)"
    )
    request_id: str | None = Field(
        default=None,
        description="outbound: the refused send request's id, whenever its body had a valid "
        "one (a string of 1-200 characters; even when the rest of it was invalid)",
    )
    nats_msg_id: str | None = Field(
        default=None,
        description="outbound, when the body had no valid request_id (none, not a string, "
        "over 200 characters, or no JSON object): the Nats-Msg-Id header the request was "
        "published with (its request_id, by the contract), up to 1000 characters, for the "
        "publisher to match the refusal by; null otherwise. (Added in v1 as an optional "
        "field: an older outbound-svc sends none.)",
    )
    station: str | None
    partner: str | None
    filename: str | None = Field(
        default=None,
        description="outbound: the refused send request's filename, whenever its body had one "
        "(so the refusal names the file the person sent); inbound: None",
    )
    modifier: str = Field(
        description="inbound: the RFC 4130 disposition modifier of the negative MDN (e.g. "
        "decryption-failed); outbound: the same as code"
    )
    reason: str = Field(description="One sentence a person can act on")
    code: str | None = Field(
        default=None,
        description="A machine code for the refusal (outbound: INVALID_JSON, "
        "INVALID_REQUEST, REQUEST_ID_REUSED, UNKNOWN_PARTNERSHIP, DOCUMENT_NOT_FOUND, "
        "DOCUMENT_MISMATCH, DOCUMENT_TOO_LARGE or a certificate problem such as "
        "CERT_HAS_EXPIRED; inbound: the modifier). See docs/integrating.md",
    )


class Duplicate(Contract):
    message_id: str
    station: str
    partner: str
    first_received_at: datetime
    reason: str | None = Field(
        default=None,
        description="Why it is a duplicate when its Message-ID is not a repeat: its signature "
        "was accepted already under another Message-ID (replay protection), named here",
    )


class MdnOutcome(Contract):
    original_message_id: str
    station: str | None
    partner: str | None
    mode: Literal["sync", "async"]
    disposition: MdnDisposition
    modifier: str | None = None
    signed: bool
    url: str | None = None  # async: where it was sent
    delivered: bool  # sync: written to the HTTP response; async: the partner answered 2xx
    attempts: int = 1
    error: str | None = None


class MdnReport(Contract):
    original_message_id: str
    #: The send request the message came from, when the publisher of the report knows it
    #: (outbound-svc, for sync MDNs; inbound-svc receives async MDNs and does not).
    request_id: str | None = None
    station: str | None
    partner: str | None
    disposition: MdnDisposition
    modifier: str | None = None
    text: str | None = None
    mic: str | None = None
    mic_alg: str | None = None
    mic_matches: bool | None = None  # None when the receiver of the report cannot tell
    signed: bool
    signature_valid: bool | None = None
    mode: Literal["sync", "async"]
    #: The MDN as received, headers and body byte for byte (the non-repudiation record), in
    #: the object store; None when it could not be stored (the report stands without it).
    raw: DocumentRef | None = None
    #: SHA-256 fingerprint (cert-svc's form) of the partner's certificate that verified the
    #: MDN's signature; None when unsigned or when no certificate verified it.
    verified_with: str | None = None


@register
class MessageReceived(Event):
    subject = event_subject("message", "inbound", "received")
    summary = "A partner's document was received, verified and stored; its MDN follows."
    data: ReceivedDocument


@register
class MessageRejected(Event):
    subject = event_subject("message", "any", "rejected")
    summary = (
        "A message was refused: a partner's message (negative MDN or HTTP error), or a send "
        "request (direction outbound, within a second of its publication, with its "
        "request_id); nothing was delivered."
    )
    data: Rejection


@register
class MessageDuplicate(Event):
    subject = event_subject("message", "inbound", "duplicate")
    summary = "A partner resent a Message-ID already delivered; not delivered again."
    data: Duplicate


@register
class MdnSent(Event):
    subject = event_subject("mdn", "outbound", "sent")
    summary = "We answered a partner's message with an MDN (sync, or an async attempt's outcome)."
    data: MdnOutcome


@register
class MdnReceived(Event):
    subject = event_subject("mdn", "inbound", "received")
    summary = (
        "A partner's MDN for one of our messages was read and checked: a sync MDN by "
        "outbound-svc in the HTTP response, an async one by inbound-svc at its endpoint. The "
        "request's outcome is the MessageDelivered or MessageFailed that follows."
    )
    data: MdnReport
