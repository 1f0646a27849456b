"""The send loop outlives a database that is away for a moment (make chaos: after a
PostgreSQL restart, one failed deadline check had ended it for good, silently)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from as2bus.outbound.entrypoints.workers import Workers
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.testing.waiting import until


class Flaky:
    """Claims and settlement whose database fails the first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures, self.deadline_checks, self.dispatches = failures, 0, 0

    async def expire_deadlines(self) -> int:
        self.deadline_checks += 1
        if self.deadline_checks <= self.failures:
            raise ConnectionError("the database is restarting")
        return 0

    async def due_partners(self, _now: datetime) -> list[str]:
        self.dispatches += 1
        return []


async def test_a_failed_deadline_check_does_not_end_the_send_loop() -> None:
    flaky = Flaky(failures=1)
    workers = Workers(
        flaky,  # type: ignore[arg-type]  # a stand-in for the claims
        ConfigReplica(),
        None,  # type: ignore[arg-type]  # nothing is due: the sender is never called
        flaky,  # type: ignore[arg-type]  # a stand-in for the settlement
        workers=1,
        clock=lambda: datetime.now(UTC),
        lease_renewal_seconds=100,
        deadline_check_seconds=0,  # at every pass of the loop
    )
    loop = asyncio.create_task(workers.run())

    def checked_again() -> bool:
        workers.wake.set()  # the next pass now, not in 250 ms
        return loop.done() or flaky.deadline_checks >= 3

    await until(checked_again, what="deadline checks after the failed one", timeout=5)
    assert not loop.done(), loop.exception() if loop.done() else None
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
