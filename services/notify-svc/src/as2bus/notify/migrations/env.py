"""Alembic environment for notify-svc (SQLite and PostgreSQL alike)."""

from alembic import context

from as2bus.notify.adapters.tables import metadata
from as2bus.shared.db import run_migrations_online

url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url is not set"
run_migrations_online(metadata, url)
