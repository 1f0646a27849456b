"""Composition root of tracklog-svc: settings → database, bus → projector and its consumer,
change hub → HTTP API and live stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from as2bus.shared.bus import open_bus
from as2bus.shared.chassis import api_tokens, bus_check, database_check
from as2bus.shared.db import create_engine, session_factory, upgrade_database_async
from as2bus.shared.tracing import fastapi_telemetry
from as2bus.shared.web import add_error_handlers, add_ops_routes, include_scoped
from as2bus.tracklog.entrypoints.api import routers
from as2bus.tracklog.entrypoints.bus import Consumer
from as2bus.tracklog.hub import ChangeHub
from as2bus.tracklog.reads import Reads
from as2bus.tracklog.service import Projector
from as2bus.tracklog.settings import TracklogSettings
from as2bus.tracklog.wiring import Components, wiring

log = logging.getLogger("as2bus.tracklog")

MIGRATIONS = "as2bus.tracklog:migrations"


def create_app(settings: TracklogSettings) -> FastAPI:
    # Unlike the other admin services, tracklog holds no secret data: no master key needed.
    tokens = api_tokens(settings)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    reads = Reads(sessions)
    hub = ChangeHub()
    projector = Projector(sessions, on_changes=hub.publish)
    state: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_database_async(MIGRATIONS, settings.database_url)
        bus = await open_bus(settings.nats_url, name="tracklog-svc", streams=settings.events)
        consumer = Consumer(
            bus.js,
            projector,
            durable=settings.consumer,
            batch_size=settings.batch_size,
            fetch_timeout=settings.fetch_seconds,
            linger_seconds=settings.linger_seconds,
        )
        components = Components(
            reads=reads, hub=hub, consumer=consumer, consumer_name=settings.consumer
        )
        with wiring.installed(app, components):
            task = asyncio.create_task(consumer.run_forever(), name="tracklog-consumer")
            state.update(bus=bus, consumer=consumer)
            log.info("tracklog-svc ready on %s:%s", settings.http_host, settings.http_port)
            try:
                yield
            finally:
                hub.close()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await bus.close()
                await engine.dispose()

    async def consumer_ready() -> None:
        consumer = state.get("consumer")
        if not isinstance(consumer, Consumer):
            raise RuntimeError("the consumer has not started yet")
        if reason := consumer.not_ready_reason():
            raise RuntimeError(reason)

    app = FastAPI(
        telemetry=fastapi_telemetry(),
        docs_url=None,  # served offline by add_ops_routes
        redoc_url=None,
        title="as2bus tracklog-svc",
        version="1",
        summary="Status and history of every AS2 message, dashboard figures, certificate expiry.",
        lifespan=lifespan,
    )
    include_scoped(app, routers, tokens)
    add_error_handlers(app)
    add_ops_routes(
        app,
        {
            "database": database_check(engine, MIGRATIONS),
            "nats": bus_check(state),
            "consumer": consumer_ready,
        },
    )
    return app
