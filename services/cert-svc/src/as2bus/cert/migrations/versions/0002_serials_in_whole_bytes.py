"""serial numbers in whole bytes, as openssl prints them: certificates stored before the
change lost the leading zero of a first byte below 0x10 (``503E94F`` for ``0503E94F``), so
the console, the CLI and openssl told the same certificate's serial differently

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # An odd number of hex digits is exactly a lost leading zero (serials were written as
    # f"{n:X}"; now in whole bytes). Standard SQL: SQLite and PostgreSQL alike.
    op.execute("UPDATE certificates SET serial = '0' || serial WHERE length(serial) % 2 = 1")


def downgrade() -> None:
    # The older code reads either form; nothing to undo.
    pass
