"""where each MessageReceived sits in the events stream and when its consumers had all
acknowledged it: a received document is deleted a grace period after that

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_messages") as batch:
        batch.add_column(sa.Column("event_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_messages") as batch:
        batch.drop_column("consumed_at")
        batch.drop_column("event_seq")
