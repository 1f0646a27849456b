"""the signatures replay protection remembers, per partner

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_signatures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("signature_key", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kept_until", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("partner", "signature_key", name="uq_seen_signatures_partner_key"),
    )
    op.create_index("ix_seen_signatures_kept_until", "seen_signatures", ["kept_until"])


def downgrade() -> None:
    op.drop_index("ix_seen_signatures_kept_until", table_name="seen_signatures")
    op.drop_table("seen_signatures")
