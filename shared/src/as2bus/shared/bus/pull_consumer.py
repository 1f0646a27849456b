"""What the durable pull consumers of the events stream share (tracklog-svc's projection,
notify-svc's incidents): reading an event, and staying up.

An event this version does not know, or one that does not match its contract, is counted and
skipped (the caller acknowledges it), never retried forever. A consumer that stops (NATS gone
for a while, say) is started again after a pause, and says why it is not ready meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod

from prometheus_client import Counter
from pydantic import ValidationError

from as2bus.contracts import Event, UnknownEventError, parse_event

log = logging.getLogger(__name__)


def decode_event(raw: bytes, skipped: Counter) -> Event | None:
    """The event, or None when it is to be skipped (counted under ``skipped``, labelled
    ``unknown-type`` or ``undecodable``)."""
    try:
        return parse_event(raw)
    except UnknownEventError:
        skipped.labels("unknown-type").inc()
    except ValidationError as err:
        skipped.labels("undecodable").inc()
        log.warning("an event that does not match its contract was skipped: %s", err)
    return None


class RestartingConsumer(ABC):
    """A consumer whose ``run`` is started again after anything that stops it."""

    def __init__(self, retry_seconds: float) -> None:
        self._retry_seconds = retry_seconds
        self.consuming = False  # a fetch has come back (with events or none) since the last stop
        self.last_error: str | None = None

    def not_ready_reason(self) -> str | None:
        """Why the consumer is not consuming right now (None: it is)."""
        if not self.consuming:
            return self.last_error or "the consumer has not fetched from the stream yet"
        return None

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run()
            except Exception as err:
                self.consuming = False
                self.last_error = f"{type(err).__name__}: {err}"[:300]
                log.warning("consumer stopped, restarting: %s", self.last_error)
                await asyncio.sleep(self._retry_seconds)

    @abstractmethod
    async def run(self) -> object:
        """Consume until cancelled (or until an error, which ``run_forever`` outlives)."""
