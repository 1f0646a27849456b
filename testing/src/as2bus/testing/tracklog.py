"""Event sequences as the other services publish them, and the track-log rows they make: for
tracklog-svc's tests, the CLI's `as2bus track` tests and the track-log benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal

from as2bus.contracts import (
    DocumentRef,
    Duplicate,
    Event,
    Failure,
    MdnOutcome,
    MdnReceived,
    MdnReport,
    MdnSent,
    MessageDuplicate,
    MessageFailed,
    MessageQueued,
    MessageReceived,
    MessageRejected,
    MessageRetrying,
    MessageSent,
    OutboundMessage,
    ReceivedAttachment,
    ReceivedDocument,
    Rejection,
    Retry,
    SendAttempt,
)
from as2bus.tracklog.domain import MessageState
from as2bus.tracklog.keys import locate
from as2bus.tracklog.merge import apply, new_state

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Mdn = Literal["processed", "processed/warning", "failed"]
_SHA = "ab" * 32


def _doc(name: str, size: int) -> DocumentRef:
    return DocumentRef(bucket="as2_documents", name=name, size=size, sha256=_SHA)


def outbound(
    message_id: str,
    *,
    at: datetime = T0,
    partner: str = "acme",
    station: str = "MYCO",
    filename: str | None = "invoice.edi",
    size: int = 1234,
    retries: int = 0,
    mdn: Mdn | None = "processed",
    mdn_mode: Literal["sync", "async", "none"] = "sync",
    mic_matches: bool | None = True,
    fail: str | None = None,
    step: timedelta = timedelta(seconds=2),
    replays: str | None = None,
) -> list[Event]:
    """Queued, ``retries`` retries, then sent and its MDN (``mdn``), or failed with ``fail``;
    ``replays``: the Message-ID of the message it resends."""
    request_id = f"req-{message_id}"
    ids = {"request_id": request_id, "message_id": message_id, "station": station,
           "partner": partner}  # fmt: skip
    queued = OutboundMessage(**ids, filename=filename, content_type="application/edi-x12",
                             size=size, document=_doc(f"out/{message_id}", size),
                             replays=replays)  # fmt: skip
    events: list[Event] = [MessageQueued(correlation_id=message_id, occurred_at=at, data=queued)]
    t = at
    for attempt in range(1, retries + 1):
        t += step
        retry = Retry(**ids, attempt=attempt, reason="HTTP 503 from the partner",
                      next_attempt_at=t + step)  # fmt: skip
        events.append(MessageRetrying(correlation_id=message_id, occurred_at=t, data=retry))
    attempt = retries + 1
    if fail is not None:
        failure = Failure(**ids, attempts=attempt, reason=fail)
        events.append(MessageFailed(correlation_id=message_id, occurred_at=t + step, data=failure))
        return events
    t += step
    sent = SendAttempt(**ids, attempt=attempt, http_status=200, mdn_mode=mdn_mode, mic="x, sha256")
    events.append(MessageSent(correlation_id=message_id, occurred_at=t, data=sent))
    if mdn is not None and mdn_mode != "none":
        report = MdnReport(original_message_id=message_id, station=station, partner=partner,
                           disposition=mdn, mic="x, sha256" if mic_matches is not False
                           else "y, sha256", mic_alg="sha256",
                           mic_matches=mic_matches, signed=True, signature_valid=True,
                           mode=mdn_mode)  # fmt: skip
        later = t + (step if mdn_mode == "async" else timedelta(milliseconds=1))
        events.append(MdnReceived(correlation_id=message_id, occurred_at=later, data=report))
    return events


def inbound(
    message_id: str,
    *,
    at: datetime = T0,
    partner: str = "acme",
    station: str = "MYCO",
    filename: str | None = "order.edi",
    size: int = 2048,
    mdn_delivered: bool = True,
    mdn_mode: Literal["sync", "async"] = "sync",
    duplicates: int = 0,
    attachments: Iterable[tuple[str | None, str, int]] = (),
) -> list[Event]:
    """Received, our MDN (sync, or async with its outcome), then ``duplicates`` resends.
    ``attachments``: the documents after the first, (filename, content type, size) each."""
    more = [ReceivedAttachment(document=_doc(f"in/{message_id}/attachment-{n}", size_),
                               filename=name, content_type=kind)
            for n, (name, kind, size_) in enumerate(attachments, 1)]  # fmt: skip
    doc = ReceivedDocument(message_id=message_id, station=station, partner=partner,
                           filename=filename, content_type="application/edi-x12", subject="PO",
                           document=_doc(f"in/{message_id}", size), signed=True, encrypted=True,
                           compressed=False, mic="y, sha256", mic_alg="sha256",
                           received_at=at, attachments=more)  # fmt: skip
    events: list[Event] = [MessageReceived(correlation_id=message_id, occurred_at=at, data=doc)]
    outcome = MdnOutcome(original_message_id=message_id, station=station, partner=partner,
                         mode=mdn_mode, disposition="processed", signed=True,
                         delivered=mdn_delivered,
                         error=None if mdn_delivered else "HTTP 502")  # fmt: skip
    t = at + timedelta(seconds=1)
    events.append(MdnSent(correlation_id=message_id, occurred_at=t, data=outcome))
    for n in range(duplicates):
        dup = Duplicate(message_id=message_id, station=station, partner=partner,
                        first_received_at=at)  # fmt: skip
        t += timedelta(seconds=5 * (n + 1))
        events.append(MessageDuplicate(correlation_id=message_id, occurred_at=t, data=dup))
    return events


def rejected(
    *,
    direction: Literal["inbound", "outbound"],
    message_id: str | None = None,
    request_id: str | None = None,
    at: datetime = T0,
    partner: str = "acme",
    station: str = "MYCO",
    code: str = "decryption-failed",
    reason: str = "no key in service decrypts it",
) -> MessageRejected:
    data = Rejection(direction=direction, message_id=message_id, request_id=request_id,
                     station=station, partner=partner, modifier=code, reason=reason)  # fmt: skip
    return MessageRejected(correlation_id=message_id or request_id, occurred_at=at, data=data)


def in_memory(events: Iterable[Event]) -> dict[uuid.UUID, MessageState]:
    """The message rows the events make, without a database (each event applied once)."""
    rows: dict[uuid.UUID, MessageState] = {}
    seen: set[uuid.UUID] = set()
    for event in events:
        found = locate(event)
        if found is None or event.event_id in seen:
            continue
        seen.add(event.event_id)
        ref, direction = found
        apply(rows.setdefault(ref, new_state(ref, direction, event)), event)
    return rows
