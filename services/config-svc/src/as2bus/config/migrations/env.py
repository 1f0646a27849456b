"""Alembic environment for config-svc (SQLite and PostgreSQL alike)."""

from alembic import context

import as2bus.config.adapters.notification_tables  # noqa: F401  (its tables join the metadata)
from as2bus.config.adapters.tables import metadata
from as2bus.shared.db import run_migrations_online

url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url is not set"
run_migrations_online(metadata, url)
