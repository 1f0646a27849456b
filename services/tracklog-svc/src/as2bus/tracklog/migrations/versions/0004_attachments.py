"""an inbound message's documents after the first (RFC 6362 multiple attachments)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL in existing rows: every message projected so far carried one document (a rebuild
    # from the events fills it for any that carried more).
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attachments", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    # Not batch mode (see 0002): the timeline's foreign key refuses a table copy on SQLite.
    op.drop_column("messages", "attachments")
