"""Composition root of inbound-svc: settings → database, bus, config replica, key material,
document store → the receive use case → the AS2 HTTP endpoint and async MDN delivery; and,
given a certificate, the endpoint's own HTTPS (``server_tls``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from as2bus.contracts import Event, MessageReceived
from as2bus.contracts.documents import documents_bucket
from as2bus.inbound.adapters.cert_svc_tls import CertSvcKey, fetch_at_start
from as2bus.inbound.adapters.ledger import Ledger
from as2bus.inbound.adapters.mdn_delivery import MdnDelivery
from as2bus.inbound.adapters.mdn_network import MdnNetwork
from as2bus.inbound.adapters.mdn_sender import MdnSender
from as2bus.inbound.adapters.retention import ReceivedDocuments, acknowledged_by_all
from as2bus.inbound.adapters.seen_signatures import SeenSignatureTable
from as2bus.inbound.adapters.server_tls import ServerTls, TlsFiles, describe
from as2bus.inbound.domain import ReplayWindow
from as2bus.inbound.entrypoints.http import BodyLimits, Spooling, as2_router
from as2bus.inbound.mdn_receipt import MdnReceiver
from as2bus.inbound.mdn_targets import MdnTargets, networks
from as2bus.inbound.parties import PartyResolver
from as2bus.inbound.replay_protection import ReplayProtection
from as2bus.inbound.service import Receiver
from as2bus.inbound.settings import InboundSettings
from as2bus.inbound.wiring import Components, wiring
from as2bus.shared.bus import open_bus, publish_event
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.chassis import bus_check, database_check, required_secrets
from as2bus.shared.crypto import SecretBox
from as2bus.shared.db import (
    autocommit_session_factory,
    create_engine,
    session_factory,
    upgrade_database_async,
)
from as2bus.shared.partner_tls.clients import PartnerClients, PinnedTransport
from as2bus.shared.partner_tls.pinning import PinnedBackend
from as2bus.shared.partner_tls.shelf import ClientFactory
from as2bus.shared.recycled_files import RecycledFiles
from as2bus.shared.retention import purge_periodically, retention
from as2bus.shared.tracing import fastapi_telemetry
from as2bus.shared.web import BodySizeLimit, add_ops_routes

log = logging.getLogger("as2bus.inbound")

MIGRATIONS = "as2bus.inbound:migrations"


def server_tls(settings: InboundSettings) -> ServerTls | None:
    """The endpoint's HTTPS, when a certificate is configured (two files, or our key alias in
    cert-svc, fetched now); None: plain HTTP (an Ingress or proxy in front terminates TLS).
    Raises ValueError, one sentence, for unusable settings, files or key."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    alias, client_ca = settings.tls_key_alias, settings.tls_client_ca_file
    if alias is not None:
        if cert is not None or key is not None:
            raise ValueError(
                "AS2BUS_INBOUND_TLS_KEY_ALIAS and AS2BUS_INBOUND_TLS_CERT_FILE/_KEY_FILE are two "
                "ways to give the TLS key: set one of them"
            )
        _, master_key = required_secrets(settings, api_token=False)
        source = CertSvcKey(alias, client_ca_file=client_ca)
        fetch_at_start(source, settings.nats_url, SecretBox(master_key))
        return ServerTls(source, reload_seconds=settings.tls_reload_seconds)
    if cert is None and key is None:
        if client_ca is not None:
            raise ValueError(
                "AS2BUS_INBOUND_TLS_CLIENT_CA_FILE needs AS2BUS_INBOUND_TLS_CERT_FILE and "
                "AS2BUS_INBOUND_TLS_KEY_FILE (or AS2BUS_INBOUND_TLS_KEY_ALIAS): client "
                "certificates exist only over HTTPS"
            )
        return None
    if cert is None or key is None:
        raise ValueError(
            "AS2BUS_INBOUND_TLS_CERT_FILE and AS2BUS_INBOUND_TLS_KEY_FILE go together: set "
            "both for HTTPS, or neither for plain HTTP"
        )
    files = TlsFiles(cert, key, client_ca)
    return ServerTls(files, reload_seconds=settings.tls_reload_seconds)


def mdn_clients(network: MdnNetwork, timeout: float) -> ClientFactory:
    """What makes the clients of async MDNs to partners with the default TLS settings: on one
    SSLContext, connecting through ``network``; or, when the environment names a proxy
    (HTTPS_PROXY, ...), httpx's own, which goes through it (the proxy then connects)."""
    context = httpx.create_ssl_context()
    if urllib.request.getproxies_environment():
        return lambda: httpx.AsyncClient(timeout=timeout, verify=context)
    backend = PinnedBackend(context, (), inner=network)
    return lambda: httpx.AsyncClient(
        transport=PinnedTransport(backend, proxy=None), timeout=timeout
    )


def create_app(settings: InboundSettings, tls: ServerTls | None = None) -> FastAPI:
    _, master_key = required_secrets(settings, api_token=False)
    box = SecretBox(master_key)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    sessions = session_factory(engine)
    state: dict[str, object] = {}
    # Spooled bodies and their plaintexts: large messages reuse the files (and page cache)
    # the ones before them wrote.
    files = RecycledFiles(settings.recycled_file_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await upgrade_database_async(MIGRATIONS, settings.database_url)
        bus = await open_bus(settings.nats_url, name="inbound-svc", streams=settings.events)
        replica = ConfigReplica()
        await replica.start(bus.js)
        keys = KeyMaterialClient(bus.client, box)
        await keys.start()
        documents = DocumentStore(
            await documents_bucket(bus.js, replicas=settings.events.replicas), bus.js
        )

        async def publish(event: Event) -> int:
            """Publish; the event's sequence number in the events stream."""
            return int((await publish_event(bus.broker, event)).seq)

        # Async MDNs go to each partner as its TLS settings demand (clients per profile;
        # partners with the default settings share the default profile's, on one SSLContext).
        # Connections are kept while MDNs keep coming (no TLS handshake per MDN) and closed
        # once none has come for a second (MdnDelivery.run).
        # Every connection is made by ``network``, to addresses it allows (mdn_targets.py).
        timeout = settings.async_mdn_timeout_seconds
        network = MdnNetwork(MdnTargets(networks(settings.async_mdn_allowed_networks)))
        clients = PartnerClients(
            mdn_clients(network, timeout), ca_bundle=None, timeout=timeout, network=network
        )
        parties = PartyResolver(replica, keys)
        mdns = MdnDelivery(
            sessions,
            MdnSender(clients, parties, network),
            publish,
            max_attempts=settings.async_mdn_attempts,
            backoff_seconds=settings.async_mdn_backoff_seconds,
        )
        signatures = SeenSignatureTable(autocommit_session_factory(engine))
        window = ReplayWindow(
            timedelta(seconds=settings.replay_window_seconds),
            timedelta(seconds=settings.replay_clock_skew_seconds),
        )
        if tls is not None:
            tls.follow_partners(replica.partners.values)
            if isinstance(tls.source, CertSvcKey):  # its start's connection is closed
                tls.source.use(keys)
        receiver = Receiver(
            parties,
            Ledger(autocommit_session_factory(engine)),
            documents,
            mdns,
            publish,
            replays=ReplayProtection(signatures, window),
            max_payload_bytes=settings.max_payload_bytes,
            keep_received_messages=settings.keep_received_messages,
            new_file=files.take,
        )
        mdn_receiver = MdnReceiver(parties, documents, publish)
        with wiring.installed(app, Components(receiver=receiver, mdn_receiver=mdn_receiver)):
            tasks = [asyncio.create_task(mdns.run(), name="async-mdn-delivery")]
            forgetting = purge_periodically(
                "inbound-svc",
                lambda: signatures.purge(datetime.now(UTC)),
                settings.retention_check_seconds,
                what="signatures out of the replay window",
            )
            tasks.append(asyncio.create_task(forgetting, name="replay-retention"))
            keep = retention(settings.document_retention_hours)
            if keep is not None:
                received = ReceivedDocuments(
                    sessions,
                    documents,
                    functools.partial(acknowledged_by_all, bus.js, MessageReceived.subject),
                    grace=timedelta(hours=settings.document_grace_hours),
                    keep=keep,
                    clock=lambda: datetime.now(UTC),
                )
                purging = purge_periodically(
                    "inbound-svc", received.purge, settings.retention_check_seconds
                )
                tasks.append(asyncio.create_task(purging, name="document-retention"))
            if tls is not None:
                tasks.append(asyncio.create_task(tls.watch(), name="tls-reload"))
            state.update(bus=bus)
            log.info(
                "inbound-svc ready: AS2 endpoint %s://%s:%s%s%s",
                "http" if tls is None else "https",
                settings.http_host,
                settings.http_port,
                settings.path,
                "" if tls is None else f" with the TLS certificate {describe(tls.certificate)}",
            )
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await receiver.reported()  # the last answers' reports, before the bus closes
                await clients.aclose()
                await keys.stop()
                await replica.stop()
                await bus.close()
                await engine.dispose()
                files.close()

    app = FastAPI(
        telemetry=fastapi_telemetry(),
        docs_url=None,  # served offline by add_ops_routes
        redoc_url=None,
        title="as2bus inbound-svc",
        version="1",
        summary="The AS2 endpoint partners POST messages and asynchronous MDNs to.",
        lifespan=lifespan,
    )
    app.include_router(
        as2_router(
            settings.path,
            settings.max_header_bytes,
            Spooling(settings.spool_bytes, files.take),
            BodyLimits(
                settings.max_mdn_bytes,
                settings.body_timeout_seconds,
                deadline_seconds=settings.body_deadline_seconds,
                seconds_per_mib=settings.body_seconds_per_mib,
            ),
        )
    )
    add_ops_routes(app, {"database": database_check(engine, MIGRATIONS), "nats": bus_check(state)})
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
