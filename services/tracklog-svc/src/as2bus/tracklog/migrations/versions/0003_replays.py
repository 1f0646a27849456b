"""a resend's link to the message it sends again; where the partner's MDN as received is kept

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("replays", sa.String(998), nullable=True))
        batch.add_column(sa.Column("mdn_raw", sa.JSON(none_as_null=True), nullable=True))
        batch.create_index("ix_messages_replays", ["replays"])


def downgrade() -> None:
    # Not batch mode (see 0002): the timeline's foreign key refuses a table copy on SQLite.
    op.drop_index("ix_messages_replays", table_name="messages")
    op.drop_column("messages", "mdn_raw")
    op.drop_column("messages", "replays")
