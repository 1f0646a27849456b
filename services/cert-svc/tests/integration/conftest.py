"""Fixtures for cert-svc integration tests: a migrated database, the use cases, a clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.cert.app import MIGRATIONS
from as2bus.cert.keystores import Keystores
from as2bus.cert.service import CertPolicy, CertService
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.contracts import PartnershipState, PartnerState, StationState
from as2bus.shared.crypto import SecretBox, generate_master_key
from as2bus.shared.db import create_engine, session_factory, upgrade_database

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(upgrade_database, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


def replica_with_partnership() -> ConfigReplica:
    """A config replica as the KV bucket would fill it: station MYCO paired with acme."""
    replica = ConfigReplica()
    station = StationState(
        id=uuid.uuid4(),
        revision=1,
        as2_id="MYCO",
        name="My Co",
        private_key_alias="myco",
        created_at=T0,
        updated_at=T0,
    )
    partner = PartnerState(
        id=uuid.uuid4(),
        revision=1,
        as2_id="acme",
        name="Acme",
        as2_alias="acme",
        as2_url="https://acme.example/as2",
        created_at=T0,
        updated_at=T0,
    )
    link = PartnershipState(
        id=uuid.uuid4(),
        revision=1,
        station_id=station.id,
        partner_id=partner.id,
        station_as2_id="MYCO",
        partner_as2_id="acme",
        created_at=T0,
        updated_at=T0,
    )
    replica.stations[station.id] = station
    replica.partners[partner.id] = partner
    replica.partnerships[link.id] = link
    return replica


@pytest.fixture
def master_key() -> str:
    return generate_master_key()


@pytest.fixture
def certs(sessions: async_sessionmaker[AsyncSession], master_key: str, clock: Clock) -> CertService:
    policy = CertPolicy(expiry_thresholds_days=[30, 14, 7, 1], switchover=timedelta(days=7))
    return CertService(sessions, SecretBox(master_key), replica_with_partnership(), policy, clock)


@pytest.fixture
def keystores(certs: CertService) -> Keystores:
    return Keystores(certs)
