"""small inline documents kept in the message's row

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
        batch.alter_column("document", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    # Fails while a message keeps its document in the row: settle or move those first.
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("document", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("content")
