"""generated passwords waiting to be shown once (POST-redirect-GET on the Users page)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shown_once",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("viewer_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["viewer_id"],
            ["users.id"],
            name=op.f("fk_shown_once_viewer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_shown_once")),
    )
    op.create_index(op.f("ix_shown_once_expires_at"), "shown_once", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_shown_once_expires_at"), table_name="shown_once")
    op.drop_table("shown_once")
