"""the URL a received message asked its asynchronous MDN to be posted to: a resend of its
Message-ID gets its MDN there (or in the response), never at a URL the resend names

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL in existing rows: a resend of one of those is answered with a synchronous MDN.
    with op.batch_alter_table("received_messages") as batch:
        batch.add_column(sa.Column("mdn_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("received_messages") as batch:
        batch.drop_column("mdn_url")
