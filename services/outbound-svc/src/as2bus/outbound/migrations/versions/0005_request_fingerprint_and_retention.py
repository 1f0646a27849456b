"""the request's fingerprint (a request id re-used for another request is refused) and when
the document's object was deleted (retention)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("request_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("document_deleted_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("document_deleted_at")
        batch.drop_column("request_sha256")
