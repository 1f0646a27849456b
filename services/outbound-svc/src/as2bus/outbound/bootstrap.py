"""Composition root of outbound-svc: settings → database, bus, config replica, key material,
documents, partner HTTP → the units of work → accept / send / settle → consumers, workers,
relay, ops routes. The only module that knows which adapter stands behind which port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.as2.headers import USER_AGENT
from as2bus.contracts.documents import documents_bucket
from as2bus.outbound.accept import Acceptor
from as2bus.outbound.adapters.claims import Claims
from as2bus.outbound.adapters.credentials import ConfigCredentials
from as2bus.outbound.adapters.partner_clients import (
    ClientFactory,
    PartnerClients,
    default_transport,
)
from as2bus.outbound.adapters.partner_http import PartnerHttp
from as2bus.outbound.adapters.repository import units_of_work
from as2bus.outbound.adapters.retention import SentDocuments
from as2bus.outbound.adapters.tables import outbox
from as2bus.outbound.adapters.tls_context import default_context
from as2bus.outbound.backlog import BacklogGauges
from as2bus.outbound.connection_test import ConnectionTest
from as2bus.outbound.entrypoints import api
from as2bus.outbound.entrypoints.bus import register_consumers
from as2bus.outbound.entrypoints.workers import Workers
from as2bus.outbound.kept_documents import KeptDocuments
from as2bus.outbound.sending import Policy, Sender
from as2bus.outbound.settings import OutboundSettings
from as2bus.outbound.settle import Settlement
from as2bus.outbound.wiring import Components, wiring
from as2bus.shared.bus import Bus, inbox_prefix, new_broker, open_bus
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.chassis import (
    MissingSettingError,
    api_tokens,
    bus_check,
    database_check,
    loops_check,
    required_secrets,
)
from as2bus.shared.crypto import SecretBox
from as2bus.shared.db import create_engine, session_factory, upgrade_database_async
from as2bus.shared.outbox import OutboxRelay
from as2bus.shared.recycled_files import RecycledFiles
from as2bus.shared.retention import purge_periodically, retention
from as2bus.shared.tracing import fastapi_telemetry
from as2bus.shared.web import add_ops_routes, include_scoped

log = logging.getLogger("as2bus.outbound")

MIGRATIONS = "as2bus.outbound:migrations"


def utc_now() -> datetime:
    return datetime.now(UTC)


def tls_context(settings: OutboundSettings) -> ssl.SSLContext:
    """TLS verification stays on; a CA bundle may be added for partners with private CAs
    (a partner's own CA certificates, in its TLS settings, replace it for that partner)."""
    return default_context(settings.ca_bundle)


def http_clients(settings: OutboundSettings) -> ClientFactory:
    """What makes the clients of partners with the default TLS settings (one per send in
    flight, ``PartnerClients``), all on one SSLContext. Every request names us, the token
    fetches and connection tests too (the messages' headers carry the same
    ``as2bus/<version>``): partners' firewalls and logs see one product."""
    context = tls_context(settings)

    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=settings.http_timeout_seconds,
            verify=context,
            headers={"User-Agent": USER_AGENT},
            transport=default_transport(context),
        )

    return make


def http_client(settings: OutboundSettings) -> httpx.AsyncClient:
    """One client of partners with the default TLS settings."""
    return http_clients(settings)()


def policy(settings: OutboundSettings) -> Policy:
    return Policy(
        max_attempts=settings.max_attempts,
        backoff_seconds=settings.backoff_seconds,
        backoff_max_seconds=settings.backoff_max_seconds,
        async_mdn_deadline=timedelta(seconds=settings.async_mdn_deadline_seconds),
        async_mdn_url=settings.async_mdn_url,
        stream_bytes=settings.stream_bytes,
        max_in_memory_bytes=settings.max_in_memory_bytes,
        keep_sent_messages=settings.keep_sent_messages,
    )


@dataclass
class Running:
    """What the lifespan started and must stop, in the order it stops them."""

    workers: Workers
    relay: OutboxRelay
    tasks: list[asyncio.Task[None]]
    http: PartnerClients
    clients: list[KeyMaterialClient | ConfigCredentials | ConfigReplica]
    files: RecycledFiles

    async def stop(self, grace_seconds: float) -> None:
        # A clean stop gives back what it holds: sends still running after the grace period
        # are cancelled and their leases released (see Workers.stop), and the events saying
        # so are published before the bus closes.
        await self.workers.stop(grace_seconds)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.relay.drain_once(), timeout=5)
        await self.http.aclose()
        for client in self.clients:
            await client.stop()
        self.files.close()


async def start(
    settings: OutboundSettings,
    sessions: async_sessionmaker[AsyncSession],
    bus: Bus,
    broker: NatsBroker,
    box: SecretBox,
) -> tuple[Components, Running]:
    """Wire the real adapters to the use cases, and start the background work."""
    replica = ConfigReplica()
    await replica.start(bus.js)
    keys = KeyMaterialClient(bus.client, box)
    credentials = ConfigCredentials(bus.client, box)
    await keys.start()
    await credentials.start()
    documents = DocumentStore(
        await documents_bucket(bus.js, replicas=settings.events.replicas), bus.js
    )
    relay = OutboxRelay(
        sessions, broker, outbox, service="outbound", idle_seconds=settings.relay_idle_seconds
    )
    http = PartnerClients(
        http_clients(settings),
        ca_bundle=settings.ca_bundle,
        timeout=settings.http_timeout_seconds,
    )
    partners = PartnerHttp(http, credentials)
    claims = Claims(sessions, timedelta(seconds=settings.lease_seconds), after_commit=relay.wake)
    plain = units_of_work(sessions, after_commit=relay.wake)
    settlement = Settlement(
        plain, resend_on_deadline=settings.async_mdn_resend, clock=utc_now, documents=documents
    )
    # The copies of large messages as sent reuse the files (and page cache) of the ones before.
    files = RecycledFiles(settings.recycled_file_bytes)
    sender = Sender(
        plain, replica, keys, documents, partners, policy(settings), clock=utc_now,
        new_file=files.take,
    )  # fmt: skip
    workers = Workers(
        claims,
        replica,
        sender,
        settlement,
        workers=settings.workers,
        clock=utc_now,
        lease_renewal_seconds=settings.lease_seconds / 3,
        backlog=BacklogGauges(plain, clock=utc_now).refresh,
        announce=relay.wake,
    )
    acceptor = Acceptor(
        units_of_work(sessions, after_commit=workers.accepted),
        replica,
        keys,
        documents,
        max_document_bytes=settings.max_document_bytes,
        keep_in_database_bytes=settings.keep_in_database_bytes,
        async_mdn_url=settings.async_mdn_url,
        clock=utc_now,
    )
    tasks = [
        asyncio.create_task(relay.run(), name="outbox-relay"),
        asyncio.create_task(workers.run(), name="senders"),
    ]
    keep = retention(settings.document_retention_hours)
    if keep is not None:
        sent = SentDocuments(sessions, documents, keep, clock=utc_now)
        purging = purge_periodically("outbound-svc", sent.purge, settings.retention_check_seconds)
        tasks.append(asyncio.create_task(purging, name="document-retention"))
    components = Components(
        acceptor=acceptor,
        settlement=settlement,
        replica=replica,
        claims=claims,
        connection_test=ConnectionTest(partners, http, keys, replica),
        documents=KeptDocuments(plain),
        wake_senders=workers.wake.set,
    )
    return components, Running(workers, relay, tasks, http, [credentials, keys, replica], files)


def create_app(settings: OutboundSettings) -> FastAPI:
    _, master_key = required_secrets(settings, api_token=False)
    box = SecretBox(master_key)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    broker = new_broker(settings.nats_url, name="outbound-svc")
    state: dict[str, object] = {}

    register_consumers(
        broker,
        lambda: wiring.of(app).acceptor,
        lambda: wiring.of(app).settlement,
        inbox_prefix=inbox_prefix(settings.nats_url),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_database_async(MIGRATIONS, settings.database_url)
        bus = await open_bus(
            settings.nats_url, name="outbound-svc", streams=settings.events, broker=broker
        )
        components, running = await start(settings, sessions, bus, broker, box)
        with wiring.installed(app, components):
            await broker.start()
            state.update(bus=bus, loops=running.tasks)
            log.info("outbound-svc ready (ops on %s:%s)", settings.http_host, settings.http_port)
            try:
                yield
            finally:
                await running.stop(settings.stop_grace_seconds)
                await bus.close()
                await engine.dispose()

    app = FastAPI(
        telemetry=fastapi_telemetry(),
        docs_url=None,  # served offline by add_ops_routes
        redoc_url=None,
        title="as2bus outbound-svc",
        version="1",
        summary="Sends AS2 messages for send requests on the bus; tests partners' connections.",
        lifespan=lifespan,
    )
    # The API (the connection test) needs API tokens; without any the service runs without it.
    try:
        include_scoped(app, api.routers, api_tokens(settings))
    except MissingSettingError:
        log.info("no API tokens set: the connection-test API is off")
    checks = {"database": database_check(engine, MIGRATIONS), "nats": bus_check(state)}
    add_ops_routes(app, checks | {"loops": loops_check(state)})
    return app
