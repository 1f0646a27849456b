"""How each message event changes its message's row, and the line it adds to the timeline.

Every rule here gives the same row whatever order the events arrive in: the earliest time for
"first seen", the latest for "last seen", the highest attempt, a count, or "the fact with the
greatest (attempt, time, value) wins". `domain.derive` then turns the facts into a status.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from as2bus.contracts import (
    AttemptStarted,
    Event,
    MdnOutcome,
    MdnReceived,
    MdnReport,
    MdnSent,
    MessageDelivered,
    MessageDuplicate,
    MessageFailed,
    MessageQueued,
    MessageReceived,
    MessageRejected,
    MessageRetrying,
    MessageSent,
)
from as2bus.contracts.verdict import describe
from as2bus.tracklog.domain import Direction, MessageState, derive, utc
from as2bus.tracklog.mdn_asked import mdn_asked

#: The refusal of a request whose id an earlier, accepted request has (see outbound-svc).
REQUEST_ID_REUSED = "REQUEST_ID_REUSED"


@dataclass(frozen=True)
class TimelineEntry:
    event_id: uuid.UUID
    message: uuid.UUID
    occurred_at: datetime
    event_type: str
    summary: str
    data: dict[str, Any]


def _fill(state: MessageState, **values: Any) -> None:
    """Values any event may carry: kept from whichever event brought them first."""
    for name, value in values.items():
        if value is not None and getattr(state, name) is None:
            setattr(state, name, value)


def _own(state: MessageState, **values: Any) -> None:
    """Values the message's defining event (queued, received) states with authority."""
    for name, value in values.items():
        if value is not None:
            setattr(state, name, value)


def _earliest(current: datetime | None, t: datetime) -> datetime:
    return t if current is None or t < current else current


#: Within one attempt: it starts (sending), then ends (retrying or sent).
_PROGRESS_RANK = {None: 0, "sending": 1, "retrying": 2, "sent": 3}
_MDN_RANK = {None: 0, "processed": 1, "processed/warning": 2, "failed": 3}  # worse wins a tie


def _progress(state: MessageState, status: str, attempt: int, t: datetime, **retry: Any) -> None:
    """The latest attempt's outcome: a retry of attempt 2 is newer than attempt 1's send."""
    new = (attempt, t, _PROGRESS_RANK[status])
    old = (state.progress_attempt, state.progress_at, _PROGRESS_RANK[state.progress_status])
    if state.progress_at is None or new > old:
        state.progress_status, state.progress_attempt, state.progress_at = status, attempt, t
        state.retry_reason = retry.get("reason")
        state.next_attempt_at = retry.get("next_at")


def _queued(state: MessageState, event: MessageQueued, t: datetime) -> str:
    d = event.data
    document = d.document.model_dump(mode="json") if d.document else None
    attachments = [a.model_dump(mode="json") for a in d.attachments] or None
    _own(state, request_id=d.request_id, message_id=d.message_id, station=d.station,
         partner=d.partner, filename=d.filename, content_type=d.content_type, size=d.size,
         document=document, replays=d.replays, attachments=attachments,
         subject=d.subject)  # fmt: skip
    state.queued_at = _earliest(state.queued_at, t)
    summary = f"queued for {d.partner}: {d.filename or 'document'} ({d.size} bytes)"
    if d.attachments:
        more, size = len(d.attachments), sum(a.size for a in d.attachments)
        summary += f" and {more} more document{'s' if more > 1 else ''} ({size} bytes)"
    return summary


def _sending(state: MessageState, event: AttemptStarted, t: datetime) -> str:
    d = event.data
    _fill(state, request_id=d.request_id, message_id=d.message_id, station=d.station,
          partner=d.partner)  # fmt: skip
    state.attempts = max(state.attempts, d.attempt)
    _progress(state, "sending", d.attempt, t)
    return f"attempt {d.attempt} started"


def _sent(state: MessageState, event: MessageSent, t: datetime) -> str:
    d = event.data
    _fill(state, request_id=d.request_id, message_id=d.message_id, station=d.station,
          partner=d.partner)  # fmt: skip
    state.attempts = max(state.attempts, d.attempt)
    # MessageQueued carries the subject; one from before it did has the headers as sent.
    _fill(state, subject=_header(d.headers, "subject"))
    if state.sent_at is None or (t, d.mdn_mode) > (state.sent_at, state.mdn_requested or ""):
        state.sent_at, state.mdn_requested = t, d.mdn_mode
        state.mdn_signature, state.sent_mic = d.mdn_signature, d.mic
    _progress(state, "sent", d.attempt, t)
    summary = f"attempt {d.attempt}: HTTP {d.http_status}, MDN {d.mdn_mode}"
    return summary + (f", posted to {d.posted_to} after a redirect" if d.posted_to else "")


def _retrying(state: MessageState, event: MessageRetrying, t: datetime) -> str:
    d = event.data
    _fill(state, request_id=d.request_id, message_id=d.message_id, station=d.station,
          partner=d.partner)  # fmt: skip
    state.attempts = max(state.attempts, d.attempt)
    next_at = utc(d.next_attempt_at)
    _progress(state, "retrying", d.attempt, t, reason=d.reason, next_at=next_at)
    return f"attempt {d.attempt} failed: {d.reason}; next attempt at {next_at:%Y-%m-%d %H:%M:%S}Z"


def _failed(state: MessageState, event: MessageFailed, t: datetime) -> str:
    d = event.data
    _fill(state, request_id=d.request_id, message_id=d.message_id, station=d.station,
          partner=d.partner)  # fmt: skip
    state.attempts = max(state.attempts, d.attempts)
    if state.failed_at is None or (t, d.reason) > (state.failed_at, state.failure_reason or ""):
        state.failed_at, state.failure_reason, state.failure_code = t, d.reason, d.code
    if "gave up after" in d.reason:  # outbound-svc's reason counts the attempts already
        return f"failed: {d.reason}"
    return f"failed after {d.attempts} attempt{'' if d.attempts == 1 else 's'}: {d.reason}"


def _delivered(state: MessageState, event: MessageDelivered, t: datetime) -> str:
    # The status comes from the facts the other events brought (the same verdict rule made
    # this event); the terminal event adds the line that says so.
    d = event.data
    _fill(state, request_id=d.request_id, message_id=d.message_id, station=d.station,
          partner=d.partner)  # fmt: skip
    state.attempts = max(state.attempts, d.attempts)
    return describe(d.status, d.reason)


def signature_of(signed: bool, valid: bool | None) -> str:
    if not signed:
        return "unsigned"
    return {True: "valid", False: "invalid", None: "unverified"}[valid]


def _mdn_received(state: MessageState, event: MdnReceived, t: datetime) -> str:
    d: MdnReport = event.data
    _fill(state, message_id=d.original_message_id, station=d.station, partner=d.partner)
    new = (t, _MDN_RANK[d.disposition])
    if state.mdn_at is None or new > (state.mdn_at, _MDN_RANK[state.mdn_disposition]):
        state.mdn_at, state.mdn_mode, state.mdn_disposition = t, d.mode, d.disposition
        state.mdn_modifier, state.mic_matches, state.mdn_mic = d.modifier, d.mic_matches, d.mic
        state.signature = signature_of(d.signed, d.signature_valid)
        state.mdn_raw = d.raw.model_dump(mode="json") if d.raw else None
    mic = {True: "MIC matches", False: "MIC MISMATCH", None: "MIC not checked"}[d.mic_matches]
    return f"MDN ({d.mode}): {d.disposition}{'/' + d.modifier if d.modifier else ''}, " + (
        f"signature {signature_of(d.signed, d.signature_valid)}, {mic}"
    )


def _rejected(state: MessageState, event: MessageRejected, t: datetime) -> str:
    d = event.data
    if d.code == REQUEST_ID_REUSED and d.message_id is not None:
        # Another request under this message's request id was refused: this one stands, and
        # keeps its own file, station and partner (the refused request's may differ).
        _fill(state, message_id=d.message_id, request_id=d.request_id)
        return f"a later request with this request id was refused: {d.reason}"
    # filename: the file the refused request sent, so the row is named by it rather than by
    # the request id (None from publishers before the field was added). A REQUEST_ID_REUSED
    # without the Message-ID that stands (outbound-svc before it named it) gets a refused
    # row of its own: its reason names the message that stands.
    _fill(state, message_id=d.message_id, request_id=d.request_id, station=d.station,
          partner=d.partner, filename=d.filename)  # fmt: skip
    if state.rejected_at is None or (t, d.reason) > (state.rejected_at, state.rejection_reason):
        state.rejected_at, state.rejection_code, state.rejection_reason = t, d.modifier, d.reason
    return f"rejected: {d.modifier}: {d.reason}"


def _received(state: MessageState, event: MessageReceived, t: datetime) -> str:
    d = event.data
    attachments = [a.model_dump(mode="json") for a in d.attachments] or None
    _own(state, message_id=d.message_id, station=d.station, partner=d.partner,
         filename=d.filename, content_type=d.content_type, size=d.document.size,
         document=d.document.model_dump(mode="json"), subject=d.subject,
         signature="valid" if d.signed else "unsigned", attachments=attachments)  # fmt: skip
    state.received_at = _earliest(state.received_at, t)
    if d.headers is not None:  # what the partner asked of our MDN, and the MIC it returns
        asked = mdn_asked(d.headers)
        mic = d.mic if asked.mode != "none" else None
        _fill(state, mdn_requested=asked.mode, mdn_signature=asked.signature, mdn_mic=mic)
    security = [name for name in ("signed", "encrypted", "compressed") if getattr(d, name)]
    summary = f"received {d.filename or 'document'} ({d.document.size} bytes" + (
        f", {', '.join(security)})" if security else ")"
    )
    if d.attachments:
        more, size = len(d.attachments), sum(a.document.size for a in d.attachments)
        summary += f" and {more} more document{'s' if more > 1 else ''} ({size} bytes)"
    return summary


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    return next((v for k, v in (headers or {}).items() if k.lower() == name), None)


def _duplicate(state: MessageState, event: MessageDuplicate, t: datetime) -> str:
    d = event.data
    _fill(state, message_id=d.message_id, station=d.station, partner=d.partner)
    state.duplicates += 1
    if d.reason:  # a replay: its signature came before under another Message-ID
        return f"duplicate: {d.reason}"
    return f"duplicate: first received at {utc(d.first_received_at):%Y-%m-%d %H:%M:%S}Z"


def _mdn_sent(state: MessageState, event: MdnSent, t: datetime) -> str:
    d: MdnOutcome = event.data
    _fill(state, message_id=d.original_message_id, station=d.station, partner=d.partner)
    new = (d.attempts, t, d.delivered)
    if state.mdn_at is None or new > (state.mdn_attempts, state.mdn_at, bool(state.mdn_delivered)):
        state.mdn_at, state.mdn_attempts, state.mdn_mode = t, d.attempts, d.mode
        state.mdn_disposition, state.mdn_modifier = d.disposition, d.modifier
        state.mdn_delivered, state.mdn_error = d.delivered, d.error
    outcome = "delivered" if d.delivered else f"not delivered ({d.error or 'no answer'})"
    return f"MDN ({d.mode}, attempt {d.attempts}): {d.disposition}, {outcome}"


Handler = Callable[[MessageState, Any, datetime], str]
_HANDLERS: dict[type[Event], Handler] = {
    MessageQueued: _queued, AttemptStarted: _sending, MessageSent: _sent,
    MessageDelivered: _delivered,
    MessageRetrying: _retrying, MessageFailed: _failed, MdnReceived: _mdn_received,
    MessageRejected: _rejected, MessageReceived: _received, MessageDuplicate: _duplicate,
    MdnSent: _mdn_sent,
}  # fmt: skip


def new_state(ref: uuid.UUID, direction: Direction, event: Event) -> MessageState:
    t = utc(event.occurred_at)
    return MessageState(id=ref, direction=direction, created_at=t, updated_at=t)


def apply(state: MessageState, event: Event) -> TimelineEntry:
    """Merge one event (never seen before: the caller checks) into its message's row."""
    t = utc(event.occurred_at)
    state.events += 1
    state.created_at, state.updated_at = min(state.created_at, t), max(state.updated_at, t)
    summary = _HANDLERS[type(event)](state, event, t)
    if state.filename is not None:
        state.filename_key = state.filename.lower()
    state.station_key = state.station.lower() if state.station is not None else None
    state.partner_key = state.partner.lower() if state.partner is not None else None
    derive(state)
    data: dict[str, Any] = event.model_dump(mode="json", include={"data"})["data"]
    return TimelineEntry(event.event_id, state.id, t, event.event_type, summary[:500], data)
