"""What a message's row says, and how its status follows from the facts events brought.

A row is a merge of facts, each kept by a rule that does not depend on arrival order (earliest,
latest, highest attempt, a count), and the status is derived from those facts by a fixed
precedence. So a redelivered, late or reordered event can never put an older status back.

Outbound: the rule is ``as2bus.contracts.outbound_verdict`` (the one outbound-svc and
``as2bus send`` apply too): rejected > failed > MDN verdict (delivered, delivered-with-warnings,
failed) > latest attempt (sending, sent, retrying; by attempt number, then time) > queued.
Inbound: received (then mdn-sent / mdn-failed by the latest MDN attempt) > rejected > duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from as2bus.contracts import MdnFacts, MdnSignature, OutboundFacts, outbound_verdict
from as2bus.contracts.verdict import Problem, SentFacts

Direction = Literal["inbound", "outbound"]
Status = Literal[
    "queued", "sending", "sent", "retrying", "delivered", "delivered-with-warnings", "failed",
    "rejected", "received", "mdn-sent", "mdn-failed", "duplicate",
]  # fmt: skip
OUTBOUND_STATUSES: tuple[Status, ...] = (
    "queued", "sending", "sent", "retrying", "delivered", "delivered-with-warnings", "failed",
    "rejected",
)  # fmt: skip
INBOUND_STATUSES: tuple[Status, ...] = (
    "received", "mdn-sent", "mdn-failed", "rejected", "duplicate",
)  # fmt: skip


def utc(value: datetime) -> datetime:
    """Aware UTC (SQLite hands back naive datetimes; they were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class MessageState:
    """One row of the projection; every field is a column of ``messages``."""

    id: uuid.UUID
    direction: Direction
    created_at: datetime  # the earliest event's time
    updated_at: datetime  # the latest event's time
    message_id: str | None = None
    request_id: str | None = None
    station: str | None = None
    partner: str | None = None
    station_key: str | None = None  # lower-cased station and partner: filters in any case
    partner_key: str | None = None
    filename: str | None = None
    filename_key: str | None = None  # lower-cased filename, for prefix search
    content_type: str | None = None
    size: int | None = None
    document: dict[str, Any] | None = None
    #: Inbound: the documents after the first (RFC 6362), each a ReceivedAttachment's JSON
    #: (document, filename, content_type); None for a message of one document.
    attachments: list[dict[str, Any]] | None = None
    subject: str | None = None
    replays: str | None = None  # outbound: the Message-ID this message is a resend of
    mdn_raw: dict[str, Any] | None = None  # outbound: the partner's MDN as received (a ref)
    status: Status = "queued"
    error_code: str | None = None
    error: str | None = None
    attempts: int = 0
    events: int = 0
    duplicates: int = 0
    queued_at: datetime | None = None
    sent_at: datetime | None = None
    received_at: datetime | None = None
    mdn_at: datetime | None = None
    failed_at: datetime | None = None
    rejected_at: datetime | None = None
    next_attempt_at: datetime | None = None
    progress_status: str | None = None
    progress_attempt: int = 0
    progress_at: datetime | None = None
    retry_reason: str | None = None
    mdn_requested: str | None = None
    mdn_signature: MdnSignature | None = None  # the MDN signature the latest attempt asked
    sent_mic: str | None = None  # the MIC the latest attempt expects back
    mdn_mode: str | None = None
    mdn_disposition: str | None = None
    mdn_modifier: str | None = None
    mic_matches: bool | None = None
    mdn_mic: str | None = None  # the MIC the MDN reports
    signature: str | None = None
    mdn_attempts: int = 0
    mdn_delivered: bool | None = None
    mdn_error: str | None = None
    failure_reason: str | None = None
    failure_code: str | None = None
    rejection_code: str | None = None
    rejection_reason: str | None = None
    time_to_mdn_ms: int | None = None


_SIGNATURE_FACTS = {"unsigned": (False, None), "valid": (True, True), "invalid": (True, False),
                    "unverified": (True, None)}  # fmt: skip


def outbound_facts(state: MessageState) -> OutboundFacts:
    """The row's facts in the terms of the shared verdict rule."""
    mdn = None
    if state.mdn_at is not None and state.mdn_disposition is not None:
        signed, valid = _SIGNATURE_FACTS[state.signature or "unsigned"]
        mdn = MdnFacts(state.mdn_disposition, state.mdn_modifier, signed, valid, state.mdn_mic,
                       state.mic_matches)  # fmt: skip
    sent = None
    if state.mdn_requested is not None:
        sent = SentFacts(state.mdn_requested, state.mdn_signature, state.sent_mic)
    return OutboundFacts(
        rejection=Problem(state.rejection_code, state.rejection_reason or "rejected")
        if state.rejected_at is not None
        else None,
        failure=Problem(state.failure_code, state.failure_reason or "failed")
        if state.failed_at is not None
        else None,
        mdn=mdn,
        sent=sent,
        retrying=state.retry_reason or "retrying" if state.progress_status == "retrying" else None,
        sending=state.progress_attempt if state.progress_status == "sending" else None,
    )


def _outbound(state: MessageState) -> tuple[Status, str | None, str | None]:
    verdict = outbound_verdict(outbound_facts(state))
    return verdict.status, verdict.code, verdict.reason


def _inbound(state: MessageState) -> tuple[Status, str | None, str | None]:
    mdn: Status | None = None
    if state.mdn_at is not None:
        mdn = "mdn-sent" if state.mdn_delivered else "mdn-failed"
    error = state.mdn_error if mdn == "mdn-failed" else None
    if state.received_at is not None:
        return mdn or "received", ("mdn-undelivered" if error else None), error
    if state.rejected_at is not None:
        return "rejected", state.rejection_code, state.rejection_reason
    if state.duplicates:
        return "duplicate", None, None
    # Only the MDN is known (the message itself is older than the stream's history).
    return mdn or "received", ("mdn-undelivered" if error else None), error


def derive(state: MessageState) -> None:
    """Set the derived columns (status, error, time to MDN) from the facts."""
    rule = _outbound if state.direction == "outbound" else _inbound
    state.status, state.error_code, state.error = rule(state)
    state.time_to_mdn_ms = None
    if state.direction == "outbound" and state.mdn_at and state.queued_at:
        state.time_to_mdn_ms = round((state.mdn_at - state.queued_at).total_seconds() * 1000)
