"""The backlog gauges: each partner's unsettled messages by status, and those awaiting an
async MDN past their deadline, read from the database the replicas share. Every replica
reports the same figures (dashboards and alerts take their max, not their sum)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from as2bus.outbound.domain import Backlog
from as2bus.outbound.metrics import BACKLOG, MDN_OVERDUE
from as2bus.outbound.ports import UnitsOfWork

#: The unsettled statuses, each reported for every partner, 0 when it has none (a series
#: that vanished could not show a backlog draining to nothing).
STATUSES = ("queued", "retrying", "sending", "awaiting-mdn")


class BacklogGauges:
    def __init__(self, units_of_work: UnitsOfWork, *, clock: Callable[[], datetime]) -> None:
        self._units_of_work = units_of_work
        self._clock = clock

    async def refresh(self) -> list[Backlog]:
        """Read the backlog and set the gauges: a partner with nothing unsettled any more
        reports zeros until this process restarts, never stale counts."""
        async with self._units_of_work() as uow:
            backlog = await uow.messages.backlog(self._clock())
        counts = {(b.partner, b.status): b.messages for b in backlog}
        overdue: dict[str, int] = {}
        for b in backlog:
            overdue[b.partner] = overdue.get(b.partner, 0) + b.overdue
        partners = {b.partner for b in backlog} | _reported()
        for partner in partners:
            for status in STATUSES:
                BACKLOG.labels(partner, status).set(counts.get((partner, status), 0))
            MDN_OVERDUE.labels(partner).set(overdue.get(partner, 0))
        return backlog


def _reported() -> set[str]:
    """The partners the backlog gauge has a series for already."""
    return {sample.labels["partner"] for metric in BACKLOG.collect() for sample in metric.samples}
