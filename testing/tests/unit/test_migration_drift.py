"""The migration-drift helper the services' test_migrations.py use: it finds nothing when a
migration builds what the metadata declares, and names each kind of difference otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from as2bus.shared.db import new_metadata
from as2bus.testing.migrations import migration_drift, table_columns, table_names

ENV = """
import sqlalchemy as sa
from alembic import context

from as2bus.shared.db import run_migrations_online

run_migrations_online(sa.MetaData(), context.config.get_main_option("sqlalchemy.url"))
"""

FIRST = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
    )
"""


@pytest.fixture
def migrations(tmp_path: Path) -> str:
    """A script location with one migration: the table ``items``."""
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    (folder / "versions" / "0001_items.py").write_text(FIRST)
    return str(folder)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'drift.db'}"


def declared(
    *,
    name_nullable: bool = False,
    name_length: int = 40,
    count_default: str = "0",
    extra_column: bool = False,
    extra_table: bool = False,
) -> sa.MetaData:
    metadata = new_metadata()
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(name_length), nullable=name_nullable),
        sa.Column("count", sa.Integer(), server_default=count_default, nullable=False),
    ]
    if extra_column:
        columns.append(sa.Column("note", sa.String(80), nullable=True))
    sa.Table("items", metadata, *columns)
    if extra_table:
        sa.Table("others", metadata, sa.Column("id", sa.Integer(), primary_key=True))
    return metadata


async def test_a_migration_that_builds_the_declared_table_has_no_drift(
    migrations: str, url: str
) -> None:
    assert await migration_drift(migrations, url, declared()) == []
    assert await table_names(url) == {"items", "alembic_version"}
    columns = await table_columns(url, "items")
    assert list(columns) == ["id", "name", "count"]
    assert not columns["name"]["nullable"]


@pytest.mark.parametrize(
    ("declaration", "kind"),
    [
        ({"extra_column": True}, "add_column"),
        ({"extra_table": True}, "add_table"),
        ({"name_nullable": True}, "modify_nullable"),
        ({"name_length": 80}, "modify_type"),
        ({"count_default": "1"}, "modify_default"),
    ],
)
async def test_each_kind_of_difference_is_reported(
    migrations: str, url: str, declaration: dict[str, object], kind: str
) -> None:
    drift = await migration_drift(migrations, url, declared(**declaration))  # type: ignore[arg-type]
    # autogenerate reports a table's changes as a tuple, a column's as a list of tuples.
    kinds = [d[0][0] if isinstance(d, list) else d[0] for d in drift]
    assert kinds == [kind], drift
