"""The sending loop: claim due messages within each partner's limits and send them, at most
``workers`` at a time in this replica; check async-MDN deadlines and refresh the backlog
gauges now and then.

A clean stop (``stop``) claims nothing more, lets the sends in progress finish within a grace
period, then cancels the rest and gives their leases back, so another replica (or this one,
started again) sends them at once rather than when the lease would have run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from as2bus.outbound.adapters.claims import Claims, Limits
from as2bus.outbound.domain import Message
from as2bus.outbound.metrics import LIMIT_WAITS
from as2bus.outbound.sending import Sender
from as2bus.outbound.settle import Settlement
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.logs import one_line

log = logging.getLogger(__name__)


class Workers:
    def __init__(
        self,
        claims: Claims,
        config: ConfigReplica,
        sender: Sender,
        settlement: Settlement,
        *,
        workers: int,
        clock: Callable[[], datetime],
        lease_renewal_seconds: float,
        deadline_check_seconds: float = 5.0,
        backlog: Callable[[], Awaitable[object]] | None = None,
        backlog_check_seconds: float = 15.0,
        announce: Callable[[], None] = lambda: None,
    ) -> None:
        self._claims = claims
        self._config = config
        self._sender = sender
        self._settlement = settlement
        self._free = workers  # sending slots of this replica not in use
        self._clock = clock
        self._lease_renewal_seconds = lease_renewal_seconds
        self._deadline_check_seconds = deadline_check_seconds
        self._backlog = backlog  # refreshes the backlog gauges (backlog.py)
        self._backlog_check_seconds = backlog_check_seconds
        self._announce = announce  # wakes the outbox relay
        self._accepted = False  # a message was accepted since the last pass
        self._sending: dict[asyncio.Task[Any], Message] = {}  # task → the message as claimed
        self._stopping = False
        self._loop_ended = asyncio.Event()  # no claim in progress or to come
        self.wake = asyncio.Event()

    def accepted(self) -> None:
        """A message was accepted: look for it now, not at the next poll.

        Its MessageQueued is announced after this pass rather than at once, so that the
        outbox relay publishes it together with the AttemptStarted of its claim: one relay
        pass per accepted message instead of two (at a few messages a second, each pass is a
        read, a publish and a delete of its own)."""
        self._accepted = True
        self.wake.set()
        if self._stopping:  # no more passes: the relay must not wait for one
            self._announce()

    def limits(self, partner_as2_id: str) -> Limits:
        partner = next(
            (p for p in self._config.partners.values() if p.as2_id == partner_as2_id), None
        )
        if partner is None:  # deleted since: one at a time, the sender fails it with the reason
            return Limits(max_concurrency=1, rate_per_second=None)
        return Limits(partner.max_concurrency, partner.rate_limit_per_second)

    async def run(self) -> None:
        last_deadline_check = last_backlog_check = 0.0
        try:
            while not self._stopping:
                self.wake.clear()
                # Only a pass that began after the commit can have claimed what it accepted.
                announcing, self._accepted = self._accepted, False
                claimed = 0
                if self._free:  # with every slot busy, a finished send wakes us
                    claimed = await self.dispatch()
                if announcing:
                    self._announce()
                if time.monotonic() - last_deadline_check > self._deadline_check_seconds:
                    last_deadline_check = time.monotonic()
                    await self._expire_deadlines()
                if time.monotonic() - last_backlog_check > self._backlog_check_seconds:
                    last_backlog_check = time.monotonic()
                    await self._refresh_backlog()
                # dispatch() claimed all it could; what changes that is a commit (a new
                # message, a retry due), a finished send or, for a rate limit, time.
                with contextlib.suppress(TimeoutError):  # not wait_for: see OutboxRelay.run
                    async with asyncio.timeout(0.25):
                        await self.wake.wait()
                    # In a burst wake-ups come in bunches (each send commits twice): one pass
                    # for all. A pass that claimed one message at most saw no burst: waiting
                    # would cost a timer's wake-up, and gather nothing.
                    await asyncio.sleep(0.005 if claimed > 1 or not self._free else 0)
        finally:
            self._loop_ended.set()
            if not self._stopping:  # cancelled without stop(): stop() owns the sends otherwise
                await self._cancel_and_release()

    async def stop(self, grace_seconds: float) -> None:
        """Claim nothing more; wait up to ``grace_seconds`` for the sends in progress, then
        cancel those still running and release their leases."""
        self._stopping = True
        self.wake.set()
        deadline = time.monotonic() + grace_seconds
        with contextlib.suppress(TimeoutError):  # a claim in progress ends with its sends
            async with asyncio.timeout(grace_seconds):
                await self._loop_ended.wait()
        if self._sending:
            log.info(
                "stopping: waiting up to %.0fs for %d send(s) in progress",
                grace_seconds,
                len(self._sending),
            )
            await asyncio.wait(list(self._sending), timeout=max(deadline - time.monotonic(), 0))
        await self._cancel_and_release()

    async def _cancel_and_release(self) -> None:
        running, self._sending = self._sending, {}
        for task in running:
            task.cancel()
        # Every cancelled attempt has stopped (its lease renewal too) before its lease is
        # released: nothing of it can write after the release.
        await asyncio.gather(*running, return_exceptions=True)
        # One that settled after all is left as it is: a release needs the attempt unsettled.
        for message in running.values():
            try:
                if await self._sender.release(message):
                    log.info("released %s for an immediate retry", message.message_id)
            except Exception:  # the lease runs out instead: the message is retried then
                log.warning("releasing %s failed", message.message_id, exc_info=True)

    async def _expire_deadlines(self) -> None:
        """Like a dispatch, a database that is away for a moment must not end the loop: make
        chaos saw sending stop for good after a PostgreSQL restart when this raised."""
        try:
            await self._settlement.expire_deadlines()
        except Exception as err:
            _passing("checking async-MDN deadlines failed; checking again shortly", err)

    async def _refresh_backlog(self) -> None:
        """A gauge that cannot be read now keeps its last figures: never end the loop."""
        if self._backlog is None:
            return
        try:
            await self._backlog()
        except Exception as err:
            _passing("reading the backlog for the metrics failed; reading it again later", err)

    async def dispatch(self) -> int:
        """Claim, partner by partner, as many due messages as the free slots and the
        partners' limits allow, and start sending them; returns how many."""
        started = 0
        try:
            for partner in await self._claims.due_partners(self._clock()):
                if not self._free:
                    break
                # One claim per partner: it takes all the free slots and the partner's limits
                # allow, so fewer means nothing more can be claimed now. (Asking again cost a
                # transaction per pass that found nothing.) A message accepted meanwhile
                # wakes the next pass.
                limits = self.limits(partner)
                claimed = await self._claims.claim_many(
                    partner, limits, self._clock, at_most=self._free, held=_waits(partner)
                )
                started += len(claimed)
                for message in claimed:
                    self._free -= 1
                    name = f"send {message.message_id}"
                    task = asyncio.create_task(self._send(message), name=name)
                    self._sending[task] = message
                    task.add_done_callback(self._forget)
        except Exception as err:
            _passing("dispatching failed; retrying shortly", err)
        return started

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._sending.pop(task, None)

    async def _send(self, message: Message) -> None:
        name = f"lease {message.message_id}"
        renewing = asyncio.create_task(self._keep_lease(message), name=name)
        try:
            await self._sender.send(message)
        except Exception as err:
            log.exception("sending %s failed unexpectedly", message.message_id)
            with contextlib.suppress(Exception):
                await self._sender.crashed(message, err)
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing  # no renewal may land after a release of this attempt
            self._free += 1
            self.wake.set()

    async def _keep_lease(self, message: Message) -> None:
        """Renew the claim while the attempt runs (a large document over a slow link can take
        longer than one lease), so no other replica sends the message meanwhile."""
        while True:
            await asyncio.sleep(self._lease_renewal_seconds)
            try:
                now = self._clock()
                if not await self._claims.renew(message.id, message.attempts, now):
                    log.warning("lost the lease on %s to another replica", message.message_id)
                    return
            except Exception:  # database briefly away: the lease has slack, try again
                log.warning("renewing the lease on %s failed", message.message_id, exc_info=True)


def _waits(partner: str) -> Callable[[str], None]:
    """Counts a claim of the partner's due messages that its limits held back."""
    return lambda limit: LIMIT_WAITS.labels(partner, limit).inc()


def _passing(what: str, err: Exception) -> None:
    """One line for what is usually a passing fault (the database away for a moment): a
    traceback every quarter of a second buried the rest of the log during an outage. The
    traceback is still there at DEBUG."""
    log.warning("%s: %s", what, one_line(err))
    log.debug("%s", what, exc_info=err)
