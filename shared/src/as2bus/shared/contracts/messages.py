"""Message and MDN contracts, v1: what happens to AS2 messages in both directions.

Documents never travel in events: ``DocumentRef`` points into the JetStream object store.
The correlation id of every message event is the AS2 Message-ID.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from as2bus.shared.contracts.envelope import Contract, Event, register
from as2bus.shared.subjects import event_subject

Direction = Literal["inbound", "outbound"]
MdnDisposition = Literal["processed", "processed/warning", "failed"]

#: Object store bucket for documents (received, and to be sent).
DOCUMENTS_BUCKET = "as2_documents"


class DocumentRef(Contract):
    bucket: str
    name: str
    size: int
    sha256: str  # hex


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


class Rejection(Contract):
    direction: Direction
    message_id: str | None
    request_id: str | None = None  # outbound: the send request refused before it had a Message-ID
    station: str | None
    partner: str | None
    modifier: str  # RFC disposition modifier, e.g. decryption-failed
    reason: str


class Duplicate(Contract):
    message_id: str
    station: str
    partner: str
    first_received_at: datetime


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


@register
class MessageReceived(Event):
    subject = event_subject("message", "inbound", "received")
    summary = "A partner's document was received, verified and stored; its MDN follows."
    data: ReceivedDocument


@register
class MessageRejected(Event):
    subject = event_subject("message", "any", "rejected")
    summary = "A message was refused (negative MDN or HTTP error); nothing was delivered."
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
    summary = "A partner's MDN for one of our messages arrived and was checked."
    data: MdnReport
