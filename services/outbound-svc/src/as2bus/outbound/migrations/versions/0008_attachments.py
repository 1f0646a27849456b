"""the documents after the first of a message (RFC 6362 multiple attachments)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attachments", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    # Settle the messages with attachments first: their attachments would be lost, and the
    # bytes of those kept in the row would be sent as part of the first document.
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachments")
