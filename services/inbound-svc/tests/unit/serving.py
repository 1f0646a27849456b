"""inbound-svc's endpoint served over real TLS in the test's own process: uvicorn with our
protocol class and ``ServerTls`` in front of the real AS2 route, the receive use case on the
fakes of ``receiving.inbound`` (no NATS, no database). Certificates come from the shared test
CA; a partner's TLS client is ``client_context`` (httpx or a raw socket on it)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from as2bus.contracts.config import PartnerTls
from as2bus.inbound.adapters.server_tls import ServerTls, TlsFiles
from as2bus.inbound.entrypoints.http import BodyLimits, Spooling, as2_router
from as2bus.inbound.entrypoints.server import with_header_timeout
from as2bus.inbound.parties import Parties
from as2bus.inbound.wiring import Components, wiring
from as2bus.testing.tls import Pair, PrivateCa, write_pair

from .receiving import Inbound


def endpoint(sut: Inbound) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        components = Components(receiver=sut.receiver, mdn_receiver=sut.mdn_receiver)
        with wiring.installed(app, components):
            yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(
        as2_router("/as2", 16 * 1024, Spooling(1 << 20), BodyLimits(64 * 1024, idle_seconds=5))
    )
    return app


@dataclass
class Served:
    host: str
    port: int
    tls: ServerTls

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}/as2"


@contextlib.asynccontextmanager
async def serving(sut: Inbound, tls: ServerTls, host: str = "127.0.0.1") -> AsyncIterator[Served]:
    """The endpoint on a free port of ``host`` over ``tls``, trusting the fakes' partners."""
    tls.follow_partners(sut.parties.partners)
    config = uvicorn.Config(
        endpoint(sut),
        host=host,
        port=0,
        log_config=None,
        http=with_header_timeout(10),
        ssl_context_factory=lambda _config, _default: tls.context,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(host, port, tls)
    finally:
        server.should_exit = True
        await task


def server_tls(ca: PrivateCa, directory: Path, *, host: str = "127.0.0.1") -> ServerTls:
    key_file, cert_file = write_pair(directory, "server", ca.issue(host=host))
    return ServerTls(TlsFiles(cert_file, key_file), reload_seconds=0.05)


def client_context(ca: PrivateCa, certificate: Pair | None = None) -> ssl.SSLContext:
    """A partner's TLS client: trusts ``ca``, presents ``certificate`` (key, cert PEM)."""
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    if certificate is not None:
        with tempfile.TemporaryDirectory() as scratch:  # read at once: no need to keep it
            key_file, cert_file = write_pair(Path(scratch), "client", certificate)
            context.load_cert_chain(cert_file, key_file)
    return context


def requiring(parties: Parties, client_pem: bytes, *, required: bool = True) -> Parties:
    """``parties`` with its partner identified by ``client_pem`` (a certificate or its CA)."""
    tls = PartnerTls(
        require_client_certificate=required, client_certificates_pem=client_pem.decode()
    )
    partner = parties.partner.model_copy(
        update={"tls": tls, "revision": parties.partner.revision + 1}
    )
    return Parties(parties.station, partner, parties.local, parties.remote)
