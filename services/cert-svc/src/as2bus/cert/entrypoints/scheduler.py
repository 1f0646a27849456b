"""Periodic expiry checks: events once per threshold, and a days-left gauge per certificate."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge

from as2bus.cert.service import CertService

log = logging.getLogger(__name__)

DAYS_LEFT = Gauge(
    "as2bus_cert_days_left",
    "Days until the certificate expires (negative once expired)",
    ["alias", "kind", "fingerprint"],
)


async def refresh_gauge(service: CertService) -> None:
    views = await service.list_certificates(None, None)
    DAYS_LEFT.clear()
    for view in views:
        if view.state != "retired":
            DAYS_LEFT.labels(view.alias, view.kind, view.fingerprint_sha256).set(view.days_left)


async def run_expiry_checks(service: CertService, interval_seconds: float) -> None:
    while True:
        try:
            for expiry in await service.check_expiry():
                log.warning(
                    "certificate %s (%s, %s) expires in %d days",
                    expiry.alias, expiry.kind, expiry.fingerprint_sha256[:23], expiry.days_left,
                )  # fmt: skip
            await refresh_gauge(service)
        except Exception:  # a failed check is retried at the next interval
            log.exception("expiry check failed")
        await asyncio.sleep(interval_seconds)
