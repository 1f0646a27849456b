"""The migrations build exactly the schema the code declares (``adapters/tables.py``), on
both databases: keystores, certificates, expiry notices and the outbox; and the serials
stored before they were written in whole bytes are mended."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from as2bus.cert.adapters.tables import certificates, metadata
from as2bus.cert.bootstrap import MIGRATIONS
from as2bus.shared.db import create_engine, upgrade_database
from as2bus.testing.migrations import migration_drift, table_names


async def test_the_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    assert await migration_drift(MIGRATIONS, database_url, metadata) == []
    tables = {"certificates", "keystores", "expiry_notices", "outbox"}
    assert set(metadata.tables) == tables
    assert await table_names(database_url) == tables | {"alembic_version"}


async def test_serials_stored_without_their_leading_zero_get_it_back(database_url: str) -> None:
    """Before serials were written in whole bytes, 0x0503E94F… was stored as 503E94F…: the
    migration puts the zero back, and leaves whole-byte serials as they are."""
    await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url, "0001")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    row = {"kind": "partner", "source": "upload", "subject": "CN=x", "issuer": "CN=x",
           "key_bits": 2048, "not_before": at, "not_after": at, "activation_at": at,
           "cert_pem": "-", "created_at": at}  # fmt: skip
    stored = {"503E94F": "0503E94F", "0503E94F": "0503E94F", "ABCDEF": "ABCDEF", "7": "07"}
    engine = create_engine(database_url)
    try:
        async with engine.begin() as db:
            for n, serial in enumerate(stored):
                await db.execute(sa.insert(certificates).values(
                    id=uuid.uuid4(), alias=f"a{n}", serial=serial,
                    fingerprint_sha256=f"{n:02X}", **row))  # fmt: skip
        await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url)
        async with engine.connect() as db:
            found = dict(
                (await db.execute(sa.select(certificates.c.alias, certificates.c.serial))).all()
            )
    finally:
        await engine.dispose()
    assert found == {f"a{n}": after for n, after in enumerate(stored.values())}
