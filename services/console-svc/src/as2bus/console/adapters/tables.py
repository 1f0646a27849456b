"""console-svc's schema: users, their sessions, failed sign-ins (for throttling), and the audit
trail projected from configuration and certificate events. All a replica needs is here, so
replicas share sessions through the database."""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.shared.db import new_metadata

metadata = new_metadata()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # SHA-256 of the cookie's token
    sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    # The last request seen with it (to the minute), for the idle timeout; None: before 0004.
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
)

#: Failed sign-ins per (e-mail, address) in the current window.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
)

#: Configuration and certificate changes, from the events config-svc and cert-svc publish (each
#: once: the event id is the key, so a redelivered event changes nothing).
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(400), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("entity", sa.String(16), nullable=False),
    sa.Column("label", sa.String(400), nullable=False),
    sa.Column("changes", sa.JSON(), nullable=False),
)

#: A generated password between the form that made it and the page that shows it once (see
#: adapters/shown_once.py): encrypted under a key only the redirect's token gives, blanked
#: (``sealed`` None) when shown, dropped after a few minutes.
shown_once = sa.Table(
    "shown_once",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # SHA-256 of the redirect's token
    sa.Column(
        "viewer_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("email", sa.String(320), nullable=False),  # whose password it is
    sa.Column("sealed", sa.LargeBinary(), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)
