"""notification channels and rules

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _entity(name: str, *extra: sa.Column[object]) -> None:
    op.create_table(name,
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    *extra,
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
    sa.UniqueConstraint('name', name=op.f(f'uq_{name}_name'))
    )


def upgrade() -> None:
    _entity('notification_channels', sa.Column('secrets', sa.Text(), nullable=True))
    _entity('notification_rules')


def downgrade() -> None:
    op.drop_table('notification_rules')
    op.drop_table('notification_channels')
