"""tracklog-svc's schema: the projection (messages, timeline, certificates) and the ids of the
events already applied. Everything here can be dropped and rebuilt from the events stream.

Indexes serve the list API: every filter that narrows a lot (partner, status, Message-ID,
request id, filename prefix) leads an index that ends in the sort key, so a filtered, sorted,
cursor-paginated page is one index range scan at any table size. Partner and station are
searched in any case, so their indexes lead with a lower-cased copy (``*_key``, kept by the
projection like ``filename_key``): a plain column both databases index alike, where an index
on lower(partner) would not survive SQLite's schema reflection (the migration check).
"""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.shared.bus.idempotency import processed_events_table
from as2bus.shared.db import new_metadata

metadata = new_metadata()

_TIME = sa.DateTime(timezone=True)
_ID_LEN, _NAME_LEN = 998, 1000  # RFC 5322 caps a header line at 998 characters


def _sorted_by(column: str, *lead: str) -> sa.Index:
    """An index for pages sorted by ``column`` (then id, the cursor's tie-break)."""
    return sa.Index("_".join(("ix_messages", *lead, column)), *lead, column, "id")


messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("message_id", sa.String(_ID_LEN), nullable=True),
    sa.Column("request_id", sa.String(200), nullable=True),
    sa.Column("station", sa.String(128), nullable=True),
    sa.Column("partner", sa.String(128), nullable=True),
    sa.Column("station_key", sa.String(128), nullable=True),  # lower-cased, for the filter
    sa.Column("partner_key", sa.String(128), nullable=True),
    sa.Column("filename", sa.String(_NAME_LEN), nullable=True),
    sa.Column("filename_key", sa.String(_NAME_LEN), nullable=True),
    sa.Column("content_type", sa.String(255), nullable=True),
    sa.Column("size", sa.BigInteger(), nullable=True),
    sa.Column("document", sa.JSON(), nullable=True),
    # Inbound: the documents after the first (RFC 6362), as MessageReceived lists them.
    sa.Column("attachments", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("subject", sa.Text(), nullable=True),
    sa.Column("replays", sa.String(998), nullable=True),
    sa.Column("mdn_raw", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("error_code", sa.String(80), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("events", sa.Integer(), nullable=False),
    sa.Column("duplicates", sa.Integer(), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.Column("queued_at", _TIME, nullable=True),
    sa.Column("sent_at", _TIME, nullable=True),
    sa.Column("received_at", _TIME, nullable=True),
    sa.Column("mdn_at", _TIME, nullable=True),
    sa.Column("failed_at", _TIME, nullable=True),
    sa.Column("rejected_at", _TIME, nullable=True),
    sa.Column("next_attempt_at", _TIME, nullable=True),
    sa.Column("progress_status", sa.String(16), nullable=True),
    sa.Column("progress_attempt", sa.Integer(), nullable=False),
    sa.Column("progress_at", _TIME, nullable=True),
    sa.Column("retry_reason", sa.Text(), nullable=True),
    sa.Column("mdn_requested", sa.String(8), nullable=True),
    sa.Column("mdn_signature", sa.String(16), nullable=True),
    sa.Column("sent_mic", sa.String(200), nullable=True),
    sa.Column("mdn_mode", sa.String(8), nullable=True),
    sa.Column("mdn_disposition", sa.String(32), nullable=True),
    sa.Column("mdn_modifier", sa.String(200), nullable=True),
    sa.Column("mic_matches", sa.Boolean(), nullable=True),
    sa.Column("mdn_mic", sa.String(200), nullable=True),
    sa.Column("signature", sa.String(16), nullable=True),
    sa.Column("mdn_attempts", sa.Integer(), nullable=False),
    sa.Column("mdn_delivered", sa.Boolean(), nullable=True),
    sa.Column("mdn_error", sa.Text(), nullable=True),
    sa.Column("failure_reason", sa.Text(), nullable=True),
    sa.Column("failure_code", sa.String(80), nullable=True),
    sa.Column("rejection_code", sa.String(200), nullable=True),
    sa.Column("rejection_reason", sa.Text(), nullable=True),
    sa.Column("time_to_mdn_ms", sa.BigInteger(), nullable=True),
    _sorted_by("created_at"),
    _sorted_by("updated_at"),
    _sorted_by("created_at", "partner_key"),
    _sorted_by("updated_at", "partner_key"),
    _sorted_by("created_at", "status"),
    _sorted_by("updated_at", "status"),
    _sorted_by("created_at", "station_key"),
    # varchar_pattern_ops (equality too): a search by the start of a Message-ID uses it.
    sa.Index(
        "ix_messages_message_id",
        "message_id",
        postgresql_ops={"message_id": "varchar_pattern_ops"},
    ),
    sa.Index("ix_messages_request_id", "request_id"),
    sa.Index("ix_messages_replays", "replays"),
    # varchar_pattern_ops: a LIKE 'prefix%' can use the index whatever the database collation.
    sa.Index(
        "ix_messages_filename_key",
        "filename_key",
        postgresql_ops={"filename_key": "varchar_pattern_ops"},
    ),
)

timeline = sa.Table(
    "timeline",
    metadata,
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("message", sa.Uuid(), sa.ForeignKey("messages.id"), nullable=False),
    sa.Column("occurred_at", _TIME, nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("summary", sa.String(500), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Index("ix_timeline_message_occurred_at", "message", "occurred_at"),
)

certificates = sa.Table(
    "certificates",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("alias", sa.String(128), nullable=False),
    sa.Column("fingerprint_sha256", sa.String(95), nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.Column("certificate_id", sa.Uuid(), nullable=True),
    sa.Column("subject", sa.Text(), nullable=True),
    sa.Column("not_after", _TIME, nullable=True),
    sa.Column("activation_at", _TIME, nullable=True),
    sa.Column("activation_set_at", _TIME, nullable=True),
    sa.Column("retirement_at", _TIME, nullable=True),
    sa.Column("retirement_set_at", _TIME, nullable=True),
    sa.Column("warned_days", sa.Integer(), nullable=True),
    sa.Column("expired", sa.Boolean(), nullable=False),
)

processed_events = processed_events_table(metadata)

#: What a rebuild must reproduce exactly (processed_events only says when each was applied).
PROJECTION = (messages, timeline, certificates)
