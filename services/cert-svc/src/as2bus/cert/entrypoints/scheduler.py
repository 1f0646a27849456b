"""Expiry checks: events once per threshold, and a days-left gauge per certificate.

The gauge is filled at start and again after every change this replica commits (a certificate
imported, generated, rotated), not only at the periodic check: a stack started empty and then
given its keystores showed no value for up to an hour. The periodic check also refreshes it, so
changes made through another replica and the passing days appear within the interval."""

from __future__ import annotations

import asyncio
import contextlib
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


class ExpiryChecks:
    """Runs the periodic check; `certificates_changed` (after each commit) refreshes the gauge."""

    def __init__(self, interval_seconds: float) -> None:
        self._interval = interval_seconds
        self._changed = asyncio.Event()

    def certificates_changed(self) -> None:
        self._changed.set()

    async def run(self, service: CertService) -> None:
        loop = asyncio.get_running_loop()
        next_check = loop.time()
        while True:
            if loop.time() >= next_check:
                next_check = loop.time() + self._interval
                await self._check(service)
            self._changed.clear()  # what the check committed is in the refresh below
            try:
                await refresh_gauge(service)
            except Exception:  # retried at the next change or check
                log.exception("the certificate expiry gauge could not be refreshed")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation
            # that arrives with the wake-up, and the loop would outlive the service's stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(next_check):
                    await self._changed.wait()

    @staticmethod
    async def _check(service: CertService) -> None:
        try:
            for expiry in await service.check_expiry():
                log.warning(
                    "certificate %s (%s, %s) expires in %d days",
                    expiry.alias, expiry.kind, expiry.fingerprint_sha256[:23], expiry.days_left,
                )  # fmt: skip
        except Exception:  # a failed check is retried at the next interval
            log.exception("expiry check failed")
