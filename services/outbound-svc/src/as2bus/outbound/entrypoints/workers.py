"""The sending loop: claim due messages within each partner's limits and send them, at most
``workers`` at a time in this replica; check async-MDN deadlines now and then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from as2bus.outbound.adapters.claims import Claims, Limits
from as2bus.outbound.sending import Sender
from as2bus.outbound.settle import Settlement
from as2bus.shared.bus.replica import ConfigReplica

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
    ) -> None:
        self._claims = claims
        self._config = config
        self._sender = sender
        self._settlement = settlement
        self._free = workers  # sending slots of this replica not in use
        self._clock = clock
        self._lease_renewal_seconds = lease_renewal_seconds
        self._tasks: set[asyncio.Task[Any]] = set()
        self.wake = asyncio.Event()

    def limits(self, partner_as2_id: str) -> Limits:
        partner = next(
            (p for p in self._config.partners.values() if p.as2_id == partner_as2_id), None
        )
        if partner is None:  # deleted since: one at a time, the sender fails it with the reason
            return Limits(max_concurrency=1, rate_per_second=None)
        return Limits(partner.max_concurrency, partner.rate_limit_per_second)

    async def run(self) -> None:
        last_deadline_check = 0.0
        try:
            while True:
                self.wake.clear()
                if self._free:  # with every slot busy, a finished send wakes us
                    await self.dispatch()
                if time.monotonic() - last_deadline_check > 5:
                    last_deadline_check = time.monotonic()
                    await self._settlement.expire_deadlines()
                # dispatch() claimed all it could; what changes that is a commit (a new
                # message, a retry due), a finished send or, for a rate limit, time.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=0.25)
                    # Wake-ups come in bunches (each send commits twice): one pass for all.
                    await asyncio.sleep(0.005)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def dispatch(self) -> None:
        """Claim, partner by partner, as many due messages as the free slots and the
        partners' limits allow, and start sending them."""
        try:
            for partner in await self._claims.due_partners(self._clock()):
                limits = self.limits(partner)
                while self._free:
                    rows = await self._claims.claim_many(
                        partner, limits, self._clock, at_most=self._free
                    )
                    for row in rows:
                        self._free -= 1
                        name = f"send {row['message_id']}"
                        task = asyncio.create_task(self._send(row), name=name)
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    if not rows:
                        break
        except Exception:
            log.exception("dispatching failed; retrying shortly")

    async def _send(self, row: dict[str, Any]) -> None:
        renewing = asyncio.create_task(self._keep_lease(row), name=f"lease {row['message_id']}")
        try:
            await self._sender.send(row)
        except Exception as err:
            log.exception("sending %s failed unexpectedly", row["message_id"])
            with contextlib.suppress(Exception):
                await self._sender.crashed(row, err)
        finally:
            renewing.cancel()
            self._free += 1
            self.wake.set()

    async def _keep_lease(self, row: dict[str, Any]) -> None:
        """Renew the claim while the attempt runs (a large document over a slow link can take
        longer than one lease), so no other replica sends the message meanwhile."""
        while True:
            await asyncio.sleep(self._lease_renewal_seconds)
            try:
                if not await self._claims.renew(row["id"], row["attempts"], self._clock()):
                    log.warning("lost the lease on %s to another replica", row["message_id"])
                    return
            except Exception:  # database briefly away: the lease has slack, try again
                log.warning("renewing the lease on %s failed", row["message_id"], exc_info=True)
