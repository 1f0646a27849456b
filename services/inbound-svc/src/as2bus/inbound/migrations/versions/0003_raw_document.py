"""the message as received, kept in the object store for the retention

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_messages") as batch:
        batch.add_column(sa.Column("raw_document", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_messages") as batch:
        batch.drop_column("raw_document")
