"""What the API returns (and so what its OpenAPI document describes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator

from as2bus.contracts import describe
from as2bus.tracklog.domain import Direction, Status


class Resend(BaseModel):
    """A message sent again from another (its ``replays``), as the other's row names it."""

    id: uuid.UUID = Field(description="Stable id of the resend's row")
    message_id: str | None = Field(description="The resend's AS2 Message-ID")
    request_id: str | None = Field(description="The resend's send request id")
    status: Status
    created_at: datetime


class MessageSummary(BaseModel):
    id: uuid.UUID = Field(description="Stable id of the row (the same after a rebuild)")
    direction: Direction
    message_id: str | None = Field(description="The AS2 Message-ID")
    request_id: str | None = Field(description="Outbound: the send request's id")
    station: str | None = Field(description="Our AS2 ID")
    partner: str | None = Field(description="The partner's AS2 ID")
    filename: str | None
    content_type: str | None
    size: int | None
    status: Status
    error_code: str | None = Field(description="Short reason code, when something went wrong")
    error: str | None = Field(description="What went wrong, for a person")
    attempts: int
    duplicates: int = Field(description="Inbound: how often the partner resent it")
    created_at: datetime = Field(description="Time of the message's first event")
    updated_at: datetime = Field(description="Time of its latest event")
    mdn_at: datetime | None
    time_to_mdn_ms: int | None = Field(description="Outbound: from queued to MDN received")
    replays: str | None = Field(
        default=None, description="Outbound: the Message-ID of the message this one resends"
    )
    attachment_count: int = Field(
        default=0,
        description="How many documents follow the first (RFC 6362 multiple attachments; "
        "the detail's `attachments`); 0 for a message of one document",
    )
    resends: int = Field(default=0, description="Outbound: how often it was sent again since")
    last_resend: Resend | None = Field(
        default=None, description="Outbound: the newest resend of it, with its status"
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="The status and its reason in one line, as `as2bus send` prints it"
    )
    @property
    def verdict(self) -> str:
        return describe(self.status, self.error)


class MessagePage(BaseModel):
    items: list[MessageSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
    count: int | None = Field(
        None,
        description="Asked with count=true: how many messages match the filters on every "
        "page (the cursor aside), at most 10,000; otherwise null",
    )
    count_capped: bool = Field(False, description="More than `count` match: counting stopped")


class TimelineItem(BaseModel):
    event_id: uuid.UUID
    occurred_at: datetime
    event_type: str
    summary: str
    data: dict[str, Any] = Field(description="The event's data as published")


class AttachmentOut(BaseModel):
    """One more document of a message (RFC 6362), after the first."""

    filename: str | None
    content_type: str
    size: int = Field(description="The document's size in bytes")
    document: dict[str, Any] | None = Field(
        default=None,
        description="Object-store reference of the document; none for a small document "
        "outbound-svc keeps in its database",
    )

    @model_validator(mode="before")
    @classmethod
    def _size_of_its_document(cls, value: Any) -> Any:
        if isinstance(value, dict) and "size" not in value:
            return value | {"size": (value.get("document") or {}).get("size")}
        return value


class MessageDetail(MessageSummary):
    subject: str | None
    document: dict[str, Any] | None = Field(description="Object-store reference of the document")
    attachments: list[AttachmentOut] = Field(
        default_factory=list,
        description="Inbound: the message's documents after the first (`document`), in order, "
        "when the partner sent several in one message (RFC 6362); empty for one document",
    )
    events: int
    queued_at: datetime | None
    sent_at: datetime | None
    received_at: datetime | None
    failed_at: datetime | None
    rejected_at: datetime | None
    next_attempt_at: datetime | None = Field(description="Retrying: when the next attempt is due")
    mdn_requested: str | None = Field(
        description="The MDN asked for: sync, async or none (outbound: by us; inbound: by the "
        "partner, of ours)"
    )
    mdn_signature: str | None = Field(
        default=None,
        description="The MDN signature asked for: required, preferred, none (outbound: by us; "
        "inbound: by the partner)",
    )
    mdn_mode: str | None
    mdn_disposition: str | None
    mdn_modifier: str | None
    mic_matches: bool | None
    sent_mic: str | None = Field(
        default=None, description="Outbound: the MIC the latest attempt expects back (base64)"
    )
    mdn_mic: str | None = Field(
        default=None,
        description="The MIC the MDN reports (base64; inbound: the one our MDN returns)",
    )
    signature: str | None = Field(
        description="Outbound: of the partner's MDN; inbound: of the partner's message "
        "(valid, invalid, unverified, unsigned)"
    )
    mdn_attempts: int = Field(description="Inbound: attempts to deliver our async MDN")
    mdn_delivered: bool | None
    mdn_error: str | None
    mdn_raw: dict[str, Any] | None = Field(
        default=None,
        description="Outbound: object-store reference of the partner's MDN as received "
        "(headers and body, byte for byte)",
    )
    timeline: list[TimelineItem]

    @field_validator("attachments", mode="before")
    @classmethod
    def _none_is_none_attached(cls, value: Any) -> Any:
        return [] if value is None else value

    @model_validator(mode="before")
    @classmethod
    def _count_the_attachments(cls, value: Any) -> Any:
        if isinstance(value, dict) and "attachment_count" not in value:
            return value | {"attachment_count": len(value.get("attachments") or [])}
        return value


class StatusCount(BaseModel):
    bucket: datetime = Field(description="Start of the hour or day (UTC)")
    partner: str | None
    direction: Direction
    status: Status
    count: int


class TimeToMdn(BaseModel):
    partner: str | None = Field(description="null: all partners together")
    count: int
    p50: int = Field(description="Milliseconds")
    p90: int
    p95: int
    p99: int


class FailureReason(BaseModel):
    error_code: str | None
    partner: str | None
    count: int
    example: str | None


class PartnerMessage(BaseModel):
    """A partner's latest message of a kind, as the Partner health page links to it."""

    id: uuid.UUID = Field(description="Stable id of the row: GET /api/v1/messages/{id}")
    message_id: str | None = Field(description="The AS2 Message-ID")
    filename: str | None
    status: Status
    updated_at: datetime = Field(description="Time of its latest event")


class PartnerFailure(PartnerMessage):
    error_code: str | None = Field(description="Short reason code")
    error: str | None = Field(description="What went wrong, for a person")


class PartnerHealth(BaseModel):
    partner: str = Field(description="The partner's AS2 ID")
    last_delivered: PartnerMessage | None = Field(
        description="Latest outbound message delivered, with or without warnings"
    )
    last_failed: PartnerFailure | None = Field(
        description="Latest outbound message failed, or refused before it was sent (rejected)"
    )
    last_retrying: PartnerFailure | None = Field(
        default=None,
        description="Latest outbound message waiting for a retry; its error is the reason its "
        "last attempt did not reach the partner",
    )
    retrying_since: datetime | None = Field(
        default=None, description="When the oldest message now retrying was accepted"
    )
    waiting: int = Field(description="Outbound messages queued, sending, sent or retrying")
    waiting_by_status: dict[Status, int] = Field(
        description="The waiting messages per status, those with none left out"
    )


class CertificateOut(BaseModel):
    kind: str
    alias: str
    fingerprint_sha256: str
    certificate_id: uuid.UUID | None
    subject: str | None
    not_after: datetime | None
    days_left: int | None
    state: Literal["scheduled", "active", "retiring", "retired", "expired"]
    activation_at: datetime | None
    retirement_at: datetime | None
    warned_days: int | None = Field(description="Smallest expiry warning threshold announced")


class Rotation(BaseModel):
    at: datetime
    change: Literal["activates", "retires"]
    certificate: CertificateOut


class Stats(BaseModel):
    since: datetime
    until: datetime
    bucket: Literal["hour", "day"]
    counts: list[StatusCount]
    time_to_mdn: list[TimeToMdn]
    failure_reasons: list[FailureReason]
    certificates: list[CertificateOut] = Field(description="Not retired, soonest expiry first")


class StatusChangeOut(BaseModel):
    """The JSON of each ``status`` event on ``GET /api/v1/stream``."""

    id: uuid.UUID
    direction: Direction
    message_id: str | None
    partner: str | None
    station: str | None
    filename: str | None
    status: Status
    previous_status: Status | None
    updated_at: datetime


class ProjectionStatus(BaseModel):
    consumer: str = Field(description="The durable JetStream consumer feeding the projection")
    events_applied: int = Field(description="Events applied since the projection was (re)built")
    pending: int | None = Field(description="Events on the stream not yet applied")
    last_error: str | None = Field(description="Why the last batch failed, until one succeeds")
