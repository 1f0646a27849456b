"""Documents do not stay in the object store forever: each service deletes the objects it is
responsible for once their retention is over (inbound-svc: received documents, some time after
they were announced; outbound-svc: sent documents, some time after the message settled).

The services keep, in their own tables, what they stored and when; a purge reads a batch of
what is due, deletes the objects and marks the rows, so replicas running it at once only
repeat a delete that finds nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from prometheus_client import Counter

log = logging.getLogger(__name__)

PURGED = Counter(
    "as2bus_documents_purged_total", "Documents deleted at the end of their retention", ["service"]
)


def retention(hours: float) -> timedelta | None:
    """A retention setting in hours; 0 keeps documents forever."""
    return timedelta(hours=hours) if hours > 0 else None


async def purge_periodically(
    service: str,
    purge: Callable[[], Awaitable[int]],
    every_seconds: float,
    *,
    what: str = "documents",
) -> None:
    """Run ``purge`` now and then every ``every_seconds`` until cancelled. A purge that fails
    (NATS or the database away for a moment) is logged in one line and tried at the next turn:
    nothing is lost by deleting later. ``what`` the purge deletes, for the log; only
    documents are counted in ``as2bus_documents_purged_total``."""
    while True:
        try:
            while (purged := await purge()) > 0:  # a backlog goes in batches, back to back
                if what == "documents":
                    PURGED.labels(service).inc(purged)
                log.info("deleted %d %s whose retention is over", purged, what)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.warning("deleting %s whose retention is over failed: %s", what, err)
        await asyncio.sleep(every_seconds)
