"""conditions and resends

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-20 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('conditions',
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('open_messages', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject', name=op.f('pk_conditions'))
    )
    op.create_table('resends',
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('replays', sa.String(length=998), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_resends'))
    )
    # The trouble of the incidents open now, so that they keep counting from its start. Their
    # failed messages were not kept: those end, as before, with the partner's next delivery.
    op.execute(
        "INSERT INTO conditions (kind, subject, since, last_seen, count, detail, open_messages) "
        "SELECT kind, subject, MIN(first_seen), MAX(last_seen), MAX(count), MAX(detail), '[]' "
        "FROM incidents GROUP BY kind, subject"
    )


def downgrade() -> None:
    op.drop_table('resends')
    op.drop_table('conditions')
