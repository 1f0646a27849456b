"""Keep what a service builds at start-up out of Python's full garbage collections.

A service holds about 150,000 objects for its whole life: modules, classes, pydantic and
SQLAlchemy models, compiled statements, the bus connection. CPython's full collection walks
every one of them, and one ran every 300-1,200 exchanges under load, each taking 70-160 ms:
about 4 % of the services' CPU per exchange, and a pause in the middle of partners' requests
(docs/benchmarks.md, finding 26). ``gc.freeze`` moves them into a generation the collector does
not scan; what is created later, per message, is collected as before.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI


def freeze_start_up_objects() -> int:
    """Collect start-up garbage (so it is not kept for ever), then freeze the rest; returns
    how many objects the collector no longer scans."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def frozen_after_start_up(app: FastAPI) -> None:
    """Freeze once the app's lifespan has started (connections made, components built), so
    those objects are frozen too, not only what importing created."""
    started: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(instance: Any) -> AsyncIterator[Any]:
        async with started(instance) as state:
            freeze_start_up_objects()
            yield state

    app.router.lifespan_context = lifespan
