"""The service's own clocks: the tick that fires incidents whose trouble has lasted long
enough, and the dispatcher that sends what is queued (woken at once when a notice is queued,
else every ``interval``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Loop:
    def __init__(self, name: str, work: Callable[[], Awaitable[int]], interval: float) -> None:
        self.name = name
        self._work = work
        self._interval = interval
        self._woken = asyncio.Event()
        self.last_error: str | None = None

    def wake(self) -> None:
        self._woken.set()

    async def run(self) -> None:
        while True:
            self._woken.clear()
            try:
                await self._work()
                self.last_error = None
            except Exception as err:  # database or config-svc away: try again next round
                message = f"{type(err).__name__}: {err}"[:300]
                if message != self.last_error:
                    log.warning("%s failed, will try again: %s", self.name, message)
                self.last_error = message
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), self._interval)
