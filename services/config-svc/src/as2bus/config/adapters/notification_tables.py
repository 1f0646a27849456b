"""config-svc's notification channels and rules: identity in columns, the rest one JSON
document, a channel's secrets one AES-GCM sealed string (as partners keep theirs)."""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.config.adapters.tables import metadata


def _entity_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("settings", sa.JSON(), nullable=False),
    ]


notification_channels = sa.Table(
    "notification_channels",
    metadata,
    *_entity_columns(),
    sa.Column("secrets", sa.Text(), nullable=True),
)

notification_rules = sa.Table("notification_rules", metadata, *_entity_columns())
