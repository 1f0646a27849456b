"""the facts the shared verdict rule needs: the MDN signature and MIC an attempt asked for,
the MIC its MDN reports, a failure's code

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("mdn_signature", sa.String(16)),
    ("sent_mic", sa.String(200)),
    ("mdn_mic", sa.String(200)),
    ("failure_code", sa.String(80)),
)


def upgrade() -> None:
    # NULL in existing rows: the rule then judges as before (the failure event decides).
    with op.batch_alter_table("messages") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite that copies the table and drops the old one, which the
    # timeline's foreign key refuses. ALTER TABLE ... DROP COLUMN needs SQLite 3.35+.
    for name, _kind in _COLUMNS:
        op.drop_column("messages", name)
