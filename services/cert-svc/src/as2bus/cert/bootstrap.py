"""Composition root of cert-svc: settings → database, secrets, bus, config replica →
use cases → HTTP API, key-material responder, expiry scheduler, outbox relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from as2bus.cert.adapters.tables import outbox
from as2bus.cert.entrypoints.api import routers
from as2bus.cert.entrypoints.bus import register_key_material
from as2bus.cert.entrypoints.scheduler import ExpiryChecks
from as2bus.cert.keystores import Keystores
from as2bus.cert.service import CertPolicy, CertService
from as2bus.cert.settings import CertSettings
from as2bus.cert.wiring import Components, wiring
from as2bus.cert.x509 import MAX_UPLOAD_BYTES
from as2bus.shared.bus import new_broker, open_bus
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.chassis import api_tokens, bus_check, database_check, required_secrets
from as2bus.shared.crypto import SecretBox
from as2bus.shared.db import create_engine, session_factory, upgrade_database_async
from as2bus.shared.outbox import OutboxRelay
from as2bus.shared.tracing import fastapi_telemetry
from as2bus.shared.web import BodySizeLimit, add_error_handlers, add_ops_routes, include_scoped

log = logging.getLogger("as2bus.cert")

MIGRATIONS = "as2bus.cert:migrations"


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: CertSettings) -> FastAPI:
    _, master_key = required_secrets(settings)
    tokens = api_tokens(settings)
    box = SecretBox(master_key)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    policy = CertPolicy(
        expiry_thresholds_days=sorted(settings.expiry_thresholds_days, reverse=True),
        switchover=timedelta(days=settings.switchover_days),
        min_key_bits=settings.min_key_bits,
    )
    broker = new_broker(settings.nats_url, name="cert-svc")
    state: dict[str, object] = {}
    register_key_material(broker, lambda: wiring.of(app).certs)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_database_async(MIGRATIONS, settings.database_url)
        bus = await open_bus(
            settings.nats_url, name="cert-svc", streams=settings.events, broker=broker
        )
        replica = ConfigReplica()
        await replica.start(bus.js)
        relay = OutboxRelay(
            sessions, broker, outbox, service="cert", idle_seconds=settings.relay_idle_seconds
        )
        expiry = ExpiryChecks(settings.expiry_check_seconds)

        def after_commit() -> None:
            relay.wake()
            expiry.certificates_changed()

        certs = CertService(sessions, box, replica, policy, utc_now, after_commit=after_commit)
        with wiring.installed(app, Components(certs=certs, keystores=Keystores(certs))):
            await broker.start()  # subscribers (the key-material responder) go live here
            tasks = [
                asyncio.create_task(relay.run(), name="outbox-relay"),
                asyncio.create_task(expiry.run(certs), name="expiry-checks"),
            ]
            state.update(bus=bus)
            log.info("cert-svc ready on %s:%s", settings.http_host, settings.http_port)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await replica.stop()
                await bus.close()
                await engine.dispose()

    app = FastAPI(
        telemetry=fastapi_telemetry(),
        docs_url=None,  # served offline by add_ops_routes
        redoc_url=None,
        title="as2bus cert-svc",
        version="1",
        summary="Keystores, partner certificates, rotation without downtime, expiry warnings.",
        lifespan=lifespan,
    )
    include_scoped(app, routers, tokens)
    add_error_handlers(app)
    add_ops_routes(app, {"database": database_check(engine, MIGRATIONS), "nats": bus_check(state)})
    # Uploads are at most 1 MiB; multipart framing adds a little.
    app.add_middleware(BodySizeLimit, max_bytes=MAX_UPLOAD_BYTES + 64 * 1024)
    return app
