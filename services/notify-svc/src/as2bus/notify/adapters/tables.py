"""notify-svc's schema: the open conditions (trouble, watched by a rule or not), the open
incidents, the resends not yet delivered, the deliveries (pending, sent, given up) and the
ids of the events already handled."""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.shared.bus.idempotency import processed_events_table
from as2bus.shared.db import new_metadata

metadata = new_metadata()
_TIME = sa.DateTime(timezone=True)

conditions = sa.Table(
    "conditions",
    metadata,
    sa.Column("kind", sa.String(40), primary_key=True),
    sa.Column("subject", sa.String(300), primary_key=True),
    sa.Column("since", _TIME, nullable=False),
    sa.Column("last_seen", _TIME, nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("open_messages", sa.JSON(), nullable=False),
)

resends = sa.Table(
    "resends",
    metadata,
    sa.Column("message_id", sa.String(998), primary_key=True),
    sa.Column("replays", sa.String(998), nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("rule_id", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(300), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("first_seen", _TIME, nullable=False),
    sa.Column("last_seen", _TIME, nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=False),
    sa.Column("notified_count", sa.Integer(), nullable=False),
    sa.Column("last_notified_at", _TIME, nullable=True),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("notice_id", sa.Uuid(), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("next_attempt_at", _TIME, nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("sent_at", _TIME, nullable=True),
    sa.Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    sa.Index("ix_deliveries_created_at", "created_at"),
)

processed_events = processed_events_table(metadata)
