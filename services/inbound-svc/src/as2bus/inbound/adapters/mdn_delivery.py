"""Async MDNs: stored first, then POSTed to the partner's Receipt-Delivery-Option URL with
retries and exponential backoff. A restart resumes from the table; each attempt's outcome is
an MdnSent event (delivered, or not yet with the error, or given up). The POST speaks the
partner's TLS settings (adapters/mdn_sender.py); a failure retrying cannot change (a
certificate we do not trust, a pin mismatch, ...) gives up at once, as outbound-svc does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import Event, MdnOutcome, MdnSent
from as2bus.inbound.adapters.mdn_sender import MdnSender
from as2bus.inbound.adapters.tables import pending_mdns
from as2bus.shared.logs import one_line

log = logging.getLogger(__name__)

ASYNC_MDNS = Counter(
    "as2bus_inbound_async_mdn_attempts_total", "Async MDN delivery attempts", ["partner", "outcome"]
)

Publish = Callable[[Event], Awaitable[Any]]


class MdnDelivery:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: MdnSender,
        publish: Publish,
        *,
        max_attempts: int,
        backoff_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._publish = publish
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._wake = asyncio.Event()

    async def enqueue(self, outcome: MdnOutcome, headers: dict[str, str], body: bytes) -> None:
        now = datetime.now(UTC)
        async with self._sessions() as session, session.begin():
            await session.execute(
                sa.insert(pending_mdns).values(
                    original_message_id=outcome.original_message_id,
                    station=outcome.station,
                    partner=outcome.partner,
                    url=outcome.url,
                    headers=headers,
                    body=body,
                    disposition=outcome.disposition,
                    modifier=outcome.modifier,
                    signed=outcome.signed,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        self._wake.set()

    async def run(self) -> None:
        quiet = False  # no MDN came during the last wait (a second)
        while True:
            self._wake.clear()
            try:
                if not await self.deliver_due() and quiet:
                    # None for a second: the connections kept while MDNs were coming are
                    # closed, rather than held open to partners' servers until the next MDN.
                    await self._sender.rest()
            except Exception as err:  # the table keeps the work; try again shortly
                # one line: a database away for a moment is the usual cause (make chaos)
                log.warning("async MDN delivery pass failed, will retry: %s", one_line(err))
                log.debug("async MDN delivery pass failed", exc_info=err)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation
            # that arrives with the wake-up, and the loop would outlive the service's stop.
            quiet = False
            try:
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            except TimeoutError:
                quiet = True

    async def deliver_due(self) -> int:
        now = datetime.now(UTC)
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    sa.select(pending_mdns).where(pending_mdns.c.next_attempt_at <= now).limit(50)
                )
            ).all()
        await asyncio.gather(*(self._attempt(row) for row in rows))
        return len(rows)

    async def _attempt(self, row: sa.Row[Any]) -> None:
        attempts = row.attempts + 1
        posted = await self._sender.post(
            row.url, row.headers, row.body, station=row.station, partner=row.partner
        )
        error = posted.error
        final = error is None or not posted.retryable or attempts >= self._max_attempts
        async with self._sessions() as session, session.begin():
            if final:
                await session.execute(sa.delete(pending_mdns).where(pending_mdns.c.id == row.id))
            else:
                delay = self._backoff * 2 ** (attempts - 1)
                await session.execute(
                    sa.update(pending_mdns)
                    .where(pending_mdns.c.id == row.id)
                    .values(
                        attempts=attempts,
                        next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
                    )
                )
        outcome = "delivered" if error is None else ("failed" if final else "retrying")
        ASYNC_MDNS.labels(row.partner or "", outcome).inc()
        if error is not None:
            log.warning(
                "async MDN for %s to %s, attempt %d: %s; %s",
                row.original_message_id,
                row.partner,
                attempts,
                error,
                "given up" if final else "will retry",
            )
        await self._publish(
            MdnSent(
                correlation_id=row.original_message_id,
                data=MdnOutcome(
                    original_message_id=row.original_message_id,
                    station=row.station,
                    partner=row.partner,
                    mode="async",
                    disposition=row.disposition,
                    modifier=row.modifier,
                    signed=row.signed,
                    url=row.url,
                    delivered=error is None,
                    attempts=attempts,
                    error=error,
                ),
            )
        )
