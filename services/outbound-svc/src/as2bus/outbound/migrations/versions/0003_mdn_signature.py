"""the MDN signature an attempt awaiting an async MDN asked for (required, preferred, none)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows keep NULL: their signed_mdn says what was asked (signed then meant required).
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("mdn_signature", sa.String(16), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch copy of the table.
    op.drop_column("messages", "mdn_signature")
