"""Composition root of config-svc: settings → database, secrets, bus → service → HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from as2bus.config.adapters.relay import config_relay
from as2bus.config.entrypoints import notification_api
from as2bus.config.entrypoints.api import routers
from as2bus.config.entrypoints.bus import register_credentials
from as2bus.config.entrypoints.notification_bus import register_notification_setup
from as2bus.config.notifications import NotificationConfig
from as2bus.config.service import ConfigService
from as2bus.config.settings import ConfigSettings
from as2bus.config.wiring import Components, wiring
from as2bus.shared.bus import new_broker, open_bus
from as2bus.shared.bus.replica import config_bucket
from as2bus.shared.chassis import api_tokens, bus_check, database_check, required_secrets
from as2bus.shared.crypto import SecretBox
from as2bus.shared.db import create_engine, session_factory, upgrade_database_async
from as2bus.shared.tracing import fastapi_telemetry
from as2bus.shared.web import add_error_handlers, add_ops_routes, include_scoped

log = logging.getLogger("as2bus.config")

MIGRATIONS = "as2bus.config:migrations"


def create_app(settings: ConfigSettings) -> FastAPI:
    _, master_key = required_secrets(settings)
    tokens = api_tokens(settings)
    box = SecretBox(master_key)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    state: dict[str, object] = {}
    broker = new_broker(settings.nats_url, name="config-svc")
    register_credentials(broker, lambda: wiring.of(app).service)
    register_notification_setup(broker, lambda: wiring.of(app).notifications)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_database_async(MIGRATIONS, settings.database_url)
        bus = await open_bus(
            settings.nats_url, name="config-svc", streams=settings.events, broker=broker
        )
        kv = await config_bucket(bus.js, replicas=settings.events.replicas)
        relay = config_relay(sessions, bus.broker, kv, idle_seconds=settings.relay_idle_seconds)
        components = Components(
            service=ConfigService(sessions, box, after_commit=relay.wake),
            notifications=NotificationConfig(sessions, box, after_commit=relay.wake),
        )
        with wiring.installed(app, components):
            await broker.start()  # the credentials responder goes live here
            relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
            state.update(bus=bus, relay=relay, relay_task=relay_task)
            log.info("config-svc ready on %s:%s", settings.http_host, settings.http_port)
            try:
                yield
            finally:
                relay_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay_task
                await bus.close()
                await engine.dispose()

    async def relay_ready() -> None:
        relay = state.get("relay")
        if relay is not None and relay.last_error:  # type: ignore[attr-defined]
            raise RuntimeError(relay.last_error)  # type: ignore[attr-defined]

    app = FastAPI(
        telemetry=fastapi_telemetry(),
        docs_url=None,  # served offline by add_ops_routes
        redoc_url=None,
        title="as2bus config-svc",
        version="1",
        summary="Stations, trading partners and partnerships of the as2bus AS2 gateway.",
        lifespan=lifespan,
    )
    include_scoped(app, routers, tokens)
    include_scoped(app, notification_api.routers, tokens)
    add_error_handlers(app)
    add_ops_routes(
        app,
        {
            "database": database_check(engine, MIGRATIONS),
            "nats": bus_check(state),
            "outbox": relay_ready,
        },
    )
    return app
