"""Fixtures for inbound-svc integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from as2bus.inbound.bootstrap import MIGRATIONS
from as2bus.shared.db import (
    autocommit_session_factory,
    create_engine,
    session_factory,
    upgrade_database,
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def ledger_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """What the service gives its Ledger: autocommit, every write one statement."""
    return autocommit_session_factory(engine)
