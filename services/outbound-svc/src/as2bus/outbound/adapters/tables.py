"""outbound-svc's schema: one row per message (its whole retry state), one per partner for the
limits that must hold across replicas, and the outbox for events."""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.shared.db import new_metadata
from as2bus.shared.outbox import outbox_table

metadata = new_metadata()

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("request_id", sa.String(200), nullable=False, unique=True),
    # SHA-256 of the request's content: a request id used again for another request is refused.
    sa.Column("request_sha256", sa.String(64), nullable=True),
    sa.Column("message_id", sa.String(250), nullable=False, unique=True),
    sa.Column("station", sa.String(128), nullable=False),
    sa.Column("partner", sa.String(128), nullable=False),
    sa.Column("filename", sa.String(255), nullable=True),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    # The document: a reference into the object store, or (small inline documents, see
    # AS2BUS_OUTBOUND_KEEP_IN_DATABASE_BYTES) its bytes here, also after the message is settled
    # until the document retention clears them (for downloads and resends).
    sa.Column("document", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("content", sa.LargeBinary(), nullable=True),
    # The documents after the first (RFC 6362 multiple attachments), NULL for one document:
    # filename, content type, size and a reference, or none when its bytes follow the first
    # document's in ``content`` (see outbound/documents.py).
    sa.Column("attachments", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("overrides", sa.JSON(), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    # Attempts a clean stop of the service interrupted and released (see Sender.release):
    # they keep their number but do not count towards max_attempts.
    sa.Column("stopped_attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("mdn_mode", sa.String(8), nullable=True),
    sa.Column("mdn_deadline", sa.DateTime(timezone=True), nullable=True),
    sa.Column("mic", sa.String(200), nullable=True),
    sa.Column("signed_mdn", sa.Boolean(), nullable=False),
    # required | preferred | none, what the attempt awaiting an async MDN asked for (NULL in
    # rows from before it was stored: signed_mdn then meant required).
    sa.Column("mdn_signature", sa.String(16), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # The partner's MDN as received (object store), kept as long as the document.
    sa.Column("mdn_document", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("sent_document", sa.JSON(none_as_null=True), nullable=True),
    # When the document's object (or the row's content) was deleted, its retention after the
    # message settled over.
    sa.Column("document_deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_messages_due", "status", "next_attempt_at"),
    sa.Index("ix_messages_partner_status", "partner", "status"),
)

#: The per-partner limiter. A replica claiming a message locks its partner's row, so the
#: in-flight count and the token bucket it checks cannot change under it (PostgreSQL: row
#: lock; SQLite: the single writer).
partner_limits = sa.Table(
    "partner_limits",
    metadata,
    sa.Column("partner", sa.String(128), primary_key=True),
    sa.Column("tokens", sa.Float(), nullable=False),
    sa.Column("refilled_at", sa.DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata)
