"""Composition root of notify-svc: settings → database, bus, master key → rules from
config-svc, senders → notifier (consumer, tick) and dispatcher → the HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from as2bus.notify.adapters.email import EmailSender
from as2bus.notify.adapters.repository import SqlUnitOfWork
from as2bus.notify.adapters.setup import ConfigSetup
from as2bus.notify.adapters.webhook import WebhookSender
from as2bus.notify.channel_test import ChannelTester
from as2bus.notify.dispatch import Dispatcher
from as2bus.notify.entrypoints.api import routers
from as2bus.notify.entrypoints.bus import Consumer
from as2bus.notify.entrypoints.loops import Loop
from as2bus.notify.ports import Sender
from as2bus.notify.reads import Reads
from as2bus.notify.service import Notifier, utc_now
from as2bus.notify.settings import NotifySettings
from as2bus.notify.wiring import Components, wiring
from as2bus.shared.bus import open_bus
from as2bus.shared.chassis import api_tokens, bus_check, database_check, required_secrets
from as2bus.shared.crypto import SecretBox
from as2bus.shared.db import create_engine, session_factory, upgrade_database_async
from as2bus.shared.tracing import fastapi_telemetry
from as2bus.shared.web import add_error_handlers, add_ops_routes, include_scoped

log = logging.getLogger("as2bus.notify")

MIGRATIONS = "as2bus.notify:migrations"


def create_app(settings: NotifySettings) -> FastAPI:
    _, master_key = required_secrets(settings)  # the channels' secrets come sealed with it
    tokens = api_tokens(settings)
    box = SecretBox(master_key)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)

    def units() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions)

    state: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_database_async(MIGRATIONS, settings.database_url)
        bus = await open_bus(settings.nats_url, name="notify-svc", streams=settings.events)
        setup = ConfigSetup(bus.client, box, max_age=settings.rules_max_age_seconds)
        await setup.start()
        http = httpx.AsyncClient(timeout=settings.send_timeout_seconds, follow_redirects=False)
        senders: dict[str, Sender] = {
            "webhook": WebhookSender(http),
            "email": EmailSender(timeout=settings.send_timeout_seconds),
        }
        dispatcher = Dispatcher(
            units, setup, senders, clock=utc_now, max_attempts=settings.max_attempts,
            first_pause_seconds=settings.first_pause_seconds,
            timeout_seconds=settings.send_timeout_seconds,
        )  # fmt: skip
        sending = Loop("sending notifications", dispatcher.send_due, settings.dispatch_seconds)
        notifier = Notifier(units, setup, on_queued=sending.wake, console_url=settings.console_url)
        ticking = Loop("the incident clock", notifier.tick, settings.tick_seconds)
        setup.when_changed(ticking.wake)  # a new rule sees the trouble going on at once
        consumer = Consumer(bus.js, notifier, durable=settings.consumer)
        components = Components(reads=Reads(units), tester=ChannelTester(setup, senders))
        with wiring.installed(app, components):
            tasks = [
                asyncio.create_task(consumer.run_forever(), name="notify-consumer"),
                asyncio.create_task(ticking.run(), name="notify-tick"),
                asyncio.create_task(sending.run(), name="notify-send"),
            ]
            state.update(bus=bus, consumer=consumer)
            log.info("notify-svc ready on %s:%s", settings.http_host, settings.http_port)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await setup.stop()
                await http.aclose()
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
        title="as2bus notify-svc",
        version="1",
        summary="Tells a person when something needs them: webhook and e-mail notifications.",
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
