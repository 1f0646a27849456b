"""CPU-bound work (the AS2 codec) on a worker thread only when it is worth the trip.

A hand-off to ``asyncio.to_thread`` costs about 0.9 ms of CPU on our 2-core benchmark VM: the
worker's wake-up, and the event loop's self-pipe write when the result comes back (a socket
send). Building or reading a 1 KB message costs 1.3-3 ms, most of it RSA in ``cryptography``,
which does not release the GIL for long enough to run alongside the loop anyway. So small
work runs on the event loop, where it blocks other requests for a few milliseconds at most,
and large work (hashing and ciphering many megabytes) in a thread, where the loop keeps
serving. Measured: 31 → 33-34 exchanges/s (docs/benchmarks.md, finding 10).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

#: Work on up to this many bytes runs on the event loop (a few ms of CPU at most: a 256 KiB
#: document adds about 0.6 ms of AES and SHA-256 to the RSA). 64 KiB before: 100 KB
#: documents then took two hand-offs per exchange, and three interleaved pairs of 100 KB
#: bursts ran 25 % faster on the loop (72 / 72 / 64 -> 93 / 92 / 79 exchanges/s; context
#: switches per exchange in outbound-svc 39-41 -> 9-15; docs/benchmarks.md, finding 23).
INLINE_BYTES = 256 * 1024


async def run_sized(size: int, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` on the event loop when ``size`` (the bytes it processes) is
    at most ``INLINE_BYTES``, otherwise on a worker thread."""
    if size <= INLINE_BYTES:
        return work(*args, **kwargs)
    return await asyncio.to_thread(work, *args, **kwargs)
