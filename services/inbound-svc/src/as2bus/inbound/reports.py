"""Events that report rather than deliver (MdnSent for a sync MDN, MessageRejected,
MessageDuplicate): published beside the partner's answer instead of before it.

Waiting for JetStream's ack of such an event held every sync MDN back by a bus round trip, on
the path a partner waits on: with PostgreSQL, where each exchange already waits for several
database round trips on a busy machine, the stack did 10-20 % more exchanges a second without
that wait (docs/benchmarks.md, finding 27). The answer never depended on the report, whose
failure was already only logged. Reports are published in the order they were told, and the
service's stop waits for those still under way (``flushed``) before it closes the bus.
"""

from __future__ import annotations

import asyncio
import logging

from as2bus.contracts import Event
from as2bus.inbound.ports import Publish

log = logging.getLogger(__name__)


class Reports:
    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._pending: set[asyncio.Task[None]] = set()

    def tell(self, event: Event) -> None:
        """Publish ``event`` without waiting for it; a failure is logged."""
        task = asyncio.ensure_future(self._published(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flushed(self) -> None:
        """Return once every report told so far is published (or has failed)."""
        while self._pending:
            await asyncio.gather(*self._pending)

    async def _published(self, event: Event) -> None:
        try:
            await self._publish(event)
        except Exception as err:
            log.warning(
                "could not publish %s for %s: %s", event.event_type, event.correlation_id, err
            )
