"""Status changes fanned out to the live streams (SSE) open in this process.

Each listener has a bounded queue: a dashboard that stops reading loses changes rather than
growing the service's memory, and is told so (it should reload its list).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import Gauge

from as2bus.tracklog.service import StatusChange

LISTENING = Gauge("as2bus_tracklog_live_streams", "Live streams (SSE) open in this process")

#: A listener's queue holds changes or, last, the news that some were dropped / the end.
OVERFLOW, CLOSED = "overflow", "closed"


@dataclass(eq=False)  # each listener is itself, kept in a set
class Listener:
    queue: asyncio.Queue[StatusChange | str] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000)
    )
    overflowed: bool = False

    async def next(self) -> StatusChange | str:
        return await self.queue.get()


class ChangeHub:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def publish(self, changes: list[StatusChange]) -> None:
        for listener in self._listeners:
            for change in changes:
                if listener.overflowed:
                    break
                if listener.queue.full():
                    listener.overflowed = True
                    listener.queue.get_nowait()  # room for the notice
                    listener.queue.put_nowait(OVERFLOW)
                else:
                    listener.queue.put_nowait(change)

    @contextlib.contextmanager
    def listen(self) -> Iterator[Listener]:
        listener = Listener()
        self._listeners.add(listener)
        LISTENING.inc()
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
            LISTENING.dec()

    def close(self) -> None:
        """End every stream (the service is stopping)."""
        for listener in self._listeners:
            if listener.queue.full():
                listener.queue.get_nowait()
            listener.queue.put_nowait(CLOSED)
