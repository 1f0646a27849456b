"""partner and station filtered in any case (lower-cased key columns lead their indexes); the
Message-ID index answers a search by its start on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The sorted indexes the key columns take over: (old name, new name, columns of the new one).
_SORTED = (
    ("ix_messages_partner_created_at", "ix_messages_partner_key_created_at", "partner_key", "created_at"),
    ("ix_messages_partner_updated_at", "ix_messages_partner_key_updated_at", "partner_key", "updated_at"),
    ("ix_messages_station_created_at", "ix_messages_station_key_created_at", "station_key", "created_at"),
)  # fmt: skip
_PATTERN_OPS = {"message_id": "varchar_pattern_ops"}


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("station_key", sa.String(128), nullable=True))
        batch.add_column(sa.Column("partner_key", sa.String(128), nullable=True))
    # SQL's lower() folds ASCII alike on both databases; AS2 IDs are printable ASCII (RFC 4130)
    # and the projection, which fills the keys from now on, folds them the same way.
    op.execute("UPDATE messages SET station_key = lower(station), partner_key = lower(partner)")
    for old, new, key, sort in _SORTED:
        op.drop_index(old, table_name="messages")
        op.create_index(new, "messages", [key, sort, "id"])
    op.drop_index("ix_messages_message_id", table_name="messages")
    op.create_index(
        "ix_messages_message_id", "messages", ["message_id"], postgresql_ops=_PATTERN_OPS
    )


def downgrade() -> None:
    # Not batch mode (see 0002): the timeline's foreign key refuses a table copy on SQLite.
    op.drop_index("ix_messages_message_id", table_name="messages")
    op.create_index("ix_messages_message_id", "messages", ["message_id"])
    for old, new, key, sort in _SORTED:
        op.drop_index(new, table_name="messages")
        op.create_index(old, "messages", [key.removesuffix("_key"), sort, "id"])
    op.drop_column("messages", "partner_key")
    op.drop_column("messages", "station_key")
