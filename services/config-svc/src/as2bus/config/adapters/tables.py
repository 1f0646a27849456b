"""config-svc's schema. Identity and relations are columns; a partner's or station's AS2
settings are one JSON document (they grow with the contract, without a migration each time);
secrets are one AES-GCM sealed string per row."""

from __future__ import annotations

import sqlalchemy as sa

from as2bus.shared.db import new_metadata
from as2bus.shared.outbox import outbox_table

metadata = new_metadata()


def _entity_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


stations = sa.Table(
    "stations",
    metadata,
    *_entity_columns(),
    sa.Column("as2_id", sa.String(128), nullable=False, unique=True),
    sa.Column("settings", sa.JSON(), nullable=False),
)

partners = sa.Table(
    "partners",
    metadata,
    *_entity_columns(),
    sa.Column("as2_id", sa.String(128), nullable=False, unique=True),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.Column("settings", sa.JSON(), nullable=False),
    sa.Column("secrets", sa.Text(), nullable=True),
)

partnerships = sa.Table(
    "partnerships",
    metadata,
    *_entity_columns(),
    sa.Column("station_id", sa.Uuid(), sa.ForeignKey("stations.id"), nullable=False),
    sa.Column("partner_id", sa.Uuid(), sa.ForeignKey("partners.id"), nullable=False),
    sa.Column("enabled", sa.Boolean(), nullable=False),
    sa.UniqueConstraint("station_id", "partner_id", name="uq_partnerships_station_partner"),
)

#: Events committed with the change that caused them; the relay also mirrors each entity's
#: new state (``kv_value``, None for a delete) into the config bucket under ``kv_key``.
outbox = outbox_table(
    metadata,
    sa.Column("kv_key", sa.String(200), nullable=False),
    sa.Column("kv_value", sa.Text(), nullable=True),
    sa.Column("revision", sa.Integer(), nullable=False),
)
