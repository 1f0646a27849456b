"""Interchangeable HTTP clients of one TLS profile: each request in flight has a client of its
own, and a client put back keeps its connection alive for the next one.

Why not one client, one connection pool, for every request to a partner: httpcore's pool looks
at each of its connections whenever a request comes or goes (whether it is closed, expired,
idle, readable), several times over for idle ones, so its cost grows with the connections it
holds. With sixteen sends in flight to one partner, a shared client spent 1.0 ms of CPU per
request against 0.6 ms with a client per request (docs/benchmarks.md, finding 27). The
connections are the same either way: one per request in flight, kept alive between requests.

Clients are lent most recently used first (its connection is the warmest and the least likely
to have been closed by the server). A client idle for longer than ``idle_seconds`` (the
connections' keep-alive expiry) is closed at the next ``sweep``, so that sockets the partner
closed do not linger; at most ``keep`` idle clients are kept.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable

import httpx

ClientFactory = Callable[[], httpx.AsyncClient]


class ClientShelf:
    def __init__(
        self,
        make: ClientFactory,
        *,
        keep: int = 20,
        idle_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make = make
        self._keep = keep
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._idle: list[tuple[httpx.AsyncClient, float]] = []  # (client, put back at); newest last
        self.lent = 0
        self.retired = False

    @property
    def idle(self) -> int:
        return len(self._idle)

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client for one request (and its redirects or token refresh), put back after."""
        client = self._idle.pop()[0] if self._idle else self._make()
        self.lent += 1
        try:
            yield client
        finally:
            self.lent -= 1
            if self.retired or len(self._idle) >= self._keep or client.is_closed:
                await client.aclose()
            else:
                self._idle.append((client, self._clock()))

    async def sweep(self, idle_seconds: float | None = None) -> None:
        """Close the clients idle for longer than ``idle_seconds`` (by default the shelf's;
        0: every idle one). The oldest come first."""
        cutoff = self._clock() - (self._idle_seconds if idle_seconds is None else idle_seconds)
        stale = 0
        while stale < len(self._idle) and self._idle[stale][1] <= cutoff:
            stale += 1
        expired, self._idle = self._idle[:stale], self._idle[stale:]
        for client, _ in expired:
            await client.aclose()

    async def retire(self) -> None:
        """Close the idle clients now, and each lent one when it comes back."""
        self.retired = True
        idle, self._idle = self._idle, []
        for client, _ in idle:
            await client.aclose()
