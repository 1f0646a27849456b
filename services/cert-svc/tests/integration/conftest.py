"""Fixtures for cert-svc integration tests: a migrated database, the use cases, a clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.cert.bootstrap import MIGRATIONS
from as2bus.cert.keystores import Keystores
from as2bus.cert.service import CertPolicy, CertService
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.crypto import SecretBox, generate_master_key
from as2bus.shared.db import create_engine, session_factory, upgrade_database
from as2bus.testing.config_states import paired_replica, partner_state, station_state

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
    return paired_replica(station_state("MYCO", name="My Co"), partner_state("acme", name="Acme"))


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


def replica_with_two_partnerships() -> ConfigReplica:
    """Station MYCO paired with partners A and B; partner C is known but not paired."""
    station = station_state("MYCO")
    replica = paired_replica(station, partner_state("A"))
    for partner, paired in ((partner_state("B"), True), (partner_state("C"), False)):
        other = paired_replica(station, partner)
        replica.partners.update(other.partners)
        if paired:
            replica.partnerships.update(other.partnerships)
    return replica


@pytest.fixture
def two_partnerships(
    sessions: async_sessionmaker[AsyncSession], master_key: str, clock: Clock
) -> Keystores:
    policy = CertPolicy(expiry_thresholds_days=[30, 14, 7, 1], switchover=timedelta(days=7))
    replica = replica_with_two_partnerships()
    return Keystores(CertService(sessions, SecretBox(master_key), replica, policy, clock))
