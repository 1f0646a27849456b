"""inbound-svc's schema: the ledger of received Message-IDs, the signatures replay protection
remembers, and the async MDNs to deliver."""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.shared.db import new_metadata

metadata = new_metadata()

#: One row per (partner, Message-ID). ``receiving`` while a message is being stored and
#: announced; ``delivered`` once MessageReceived is on the bus. A resend of a delivered
#: Message-ID is a duplicate; a resend of one still ``receiving`` (a crash in between) is
#: processed again, under the same event id, so the bus sees it once.
received_messages = sa.Table(
    "received_messages",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(128), nullable=False),
    sa.Column("message_id", sa.String(998), nullable=False),
    sa.Column("station", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("document", sa.String(200), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    # Where MessageReceived sits in the events stream, and when the janitor first saw every
    # durable consumer of it past that point (the document's grace period starts then).
    sa.Column("event_seq", sa.BigInteger(), nullable=True),
    sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
    # The message as received (headers and body), kept for the retention whether or not the
    # document has been consumed: the record of what the partner signed.
    sa.Column("raw_document", sa.String(200), nullable=True),
    # How many documents after the first the message carried (RFC 6362), kept beside
    # ``document`` under ``domain.attachment_name``: the retention deletes them with it.
    sa.Column("attachments", sa.Integer(), nullable=False, server_default="0"),
    # The Receipt-Delivery-Option of the message first received under this Message-ID (NULL:
    # it asked for a synchronous MDN, or none): the only URL a resend's MDN is posted to.
    sa.Column("mdn_url", sa.Text(), nullable=True),
    sa.UniqueConstraint("partner", "message_id", name="uq_received_messages_partner_msgid"),
)

#: One row per (partner, signature key) of a partner with replay protection: the Message-ID
#: that holds it, ``receiving`` while it is delivered, ``accepted`` once MessageReceived is
#: on the bus. The unique key decides between copies posted at once. Deleted after
#: ``kept_until``, when its signing time is outside the replay window anyway.
seen_signatures = sa.Table(
    "seen_signatures",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(128), nullable=False),
    sa.Column("signature_key", sa.String(64), nullable=False),
    sa.Column("message_id", sa.String(998), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("kept_until", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.UniqueConstraint("partner", "signature_key", name="uq_seen_signatures_partner_key"),
)

#: Async MDNs waiting for (re)delivery; a restart resumes them.
pending_mdns = sa.Table(
    "pending_mdns",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("original_message_id", sa.String(998), nullable=False),
    sa.Column("station", sa.String(128), nullable=True),
    sa.Column("partner", sa.String(128), nullable=True),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("headers", sa.JSON(), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("disposition", sa.String(32), nullable=False),
    sa.Column("modifier", sa.String(64), nullable=True),
    sa.Column("signed", sa.Boolean(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
