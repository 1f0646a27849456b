"""The days-left gauge has values right after start and after each change, not only at the
periodic check (issue #16, item 13: it was empty for up to an hour)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.cert.entrypoints.scheduler import ExpiryChecks
from as2bus.cert.service import CertPolicy, CertService
from as2bus.shared.crypto import SecretBox
from as2bus.testing.waiting import until

from .conftest import Clock, replica_with_partnership
from .test_certs_on_both_databases import partner_pem

HOUR = 3600.0


def days_left(alias: str) -> float | None:
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == "as2bus_cert_days_left" and sample.labels["alias"] == alias:
                return sample.value
    return None


async def test_gauge_is_filled_at_start_and_after_each_change(
    sessions: async_sessionmaker[AsyncSession], master_key: str, clock: Clock
) -> None:
    checks = ExpiryChecks(interval_seconds=HOUR)  # the next periodic check is an hour away
    policy = CertPolicy(expiry_thresholds_days=[30, 14, 7, 1], switchover=timedelta(days=7))
    certs = CertService(
        sessions, SecretBox(master_key), replica_with_partnership(), policy, clock,
        after_commit=checks.certificates_changed,
    )  # fmt: skip
    await certs.upload_partner("acme", partner_pem("acme", clock, days=40))
    task = asyncio.create_task(checks.run(certs))
    try:
        # Right after start; then, imported after start: in the gauge at once, not at the
        # next hourly check. (A value of 0 days would read as "not yet": none here is 0.)
        assert await until(lambda: days_left("acme"), what="acme's gauge", timeout=2) == 40
        await certs.upload_partner("acme-next", partner_pem("acme-next", clock, days=90))
        assert await until(lambda: days_left("acme-next"), what="the new gauge", timeout=2) == 90
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
