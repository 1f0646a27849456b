"""how many documents after the first a received message carried (RFC 6362 multiple
attachments): the retention deletes them with the first

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
    # 0 in existing rows: every message received so far carried one document.
    with op.batch_alter_table("received_messages") as batch:
        batch.add_column(
            sa.Column("attachments", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("received_messages") as batch:
        batch.drop_column("attachments")
