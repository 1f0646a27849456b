"""The HTTP clients for each partner TLS profile, kept while the profile holds.

A partner with TLS settings of its own (trust, pins, client certificate, minimum version,
proxy) gets clients of its own, kept by partner id for the partner's revision and, when it
presents our client certificate, that certificate's version: their connections are reused
from send to send (keep-alive), and a changed setting or a rotated key gives new clients on the
next send. The clients it replaces are closed once the sends using them are done. Partners
with the default settings share the default profile's clients, kept by the origin (scheme,
host, port) they post to. Each send in flight has a client of its own (``shelf``: one pool per
send costs less CPU than one pool for all of them).

The proxy: the partner's ``proxy_url``, else the standard environment (``HTTPS_PROXY``,
``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), resolved for the host requests go to here
because a client with a transport of its own does not read the environment. That host is the
partner's AS2 URL's, unless a request goes elsewhere (``url``: an async MDN's URL), and clients
are kept for the proxy they were built with too.
"""

from __future__ import annotations

import contextlib
import ssl
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from as2bus.as2.headers import USER_AGENT
from as2bus.contracts import PartnerState
from as2bus.contracts.config import PartnerTls
from as2bus.shared.partner_tls.context import partner_context
from as2bus.shared.partner_tls.identity import ClientIdentity
from as2bus.shared.partner_tls.pinning import Observer, PinnedBackend
from as2bus.shared.partner_tls.shelf import ClientFactory, ClientShelf

LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


def proxy_for(partner: PartnerState, url_to: str | None = None) -> str | None:
    """The proxy a request to the partner (at ``url_to``, by default its AS2 URL) goes
    through, or None (straight)."""
    if partner.tls.proxy_url:
        return partner.tls.proxy_url
    url = urlsplit(url_to or partner.as2_url)
    found = urllib.request.getproxies_environment()
    if not found or urllib.request.proxy_bypass(url.hostname or "", found):
        return None
    return found.get(url.scheme) or found.get("all")


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over an httpcore pool that uses our PinnedBackend."""

    def __init__(
        self, backend: PinnedBackend, proxy: str | None, limits: httpx.Limits = LIMITS
    ) -> None:
        super().__init__(verify=backend.context, trust_env=False)
        common = {
            "ssl_context": backend.context,
            "max_connections": limits.max_connections,
            "max_keepalive_connections": limits.max_keepalive_connections,
            "keepalive_expiry": limits.keepalive_expiry,
            "network_backend": backend,
        }
        if proxy is None:
            pool: httpcore.AsyncConnectionPool = httpcore.AsyncConnectionPool(**common)  # type: ignore[arg-type]
        else:
            via = httpx.Proxy(proxy)  # httpx's parsing: credentials in the URL, the scheme
            pool = httpcore.AsyncHTTPProxy(
                proxy_url=httpcore.URL(
                    scheme=via.url.raw_scheme,
                    host=via.url.raw_host,
                    port=via.url.port,
                    target=via.url.raw_path,
                ),
                proxy_auth=via.raw_auth,
                proxy_headers=via.headers.raw,
                proxy_ssl_context=via.ssl_context,
                **common,  # type: ignore[arg-type]
            )
        # httpx takes no network backend; its transport sends every request to ``_pool``
        # (httpx 0.28), which we build the same way with ours. The pinning tests fail if a
        # later httpx stops doing so.
        self._pool = pool


def default_transport(context: ssl.SSLContext) -> httpx.AsyncBaseTransport | None:
    """The transport of the client that partners with the default TLS settings share: ours,
    for its cheaper check of idle connections (``pinning``; no pins), unless the environment
    names a proxy. Then None: httpx's own transport, which applies the environment's proxies
    per URL (a client given a transport reads none)."""
    if urllib.request.getproxies_environment():
        return None
    return PinnedTransport(PinnedBackend(context, ()), proxy=None)


def partner_clients(
    partner: PartnerState,
    identity: ClientIdentity | None,
    *,
    ca_bundle: str | None,
    timeout: float,
    proxy: str | None,
    observe: Observer | None = None,
    limits: httpx.Limits = LIMITS,
    network: httpcore.AsyncNetworkBackend | None = None,
) -> ClientFactory:
    """What makes clients of ``partner``'s TLS profile: its SSLContext is built once, here
    (TlsSetupError when it cannot be), and shared by every client made. ``network``: what
    makes the TCP connections (httpcore's own by default), unless they go to a proxy."""
    context = partner_context(partner.tls, ca_bundle=ca_bundle, identity=identity)
    inner = network if proxy is None else None
    backend = PinnedBackend(context, partner.tls.pinned_sha256, observe, inner=inner)

    def make() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=PinnedTransport(backend, proxy, limits),
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )

    return make


@dataclass
class _Kept:
    key: tuple[int, str | None, str | None]  # (revision, client certificate version, proxy)
    clients: ClientShelf


Origin = tuple[str, str, int | None]


def _origin(url: str) -> Origin:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port


class PartnerClients:
    """The clients of each partner (see the module's doc). ``default``: makes a client of the
    default profile (partners with the default TLS settings); they share its SSLContext.
    ``network``: what the partners' clients make TCP connections with, when not through a
    proxy (inbound-svc's async MDNs: only to the addresses it allows); httpcore's own if
    None. ``default`` builds its clients itself, and so chooses for them."""

    def __init__(
        self,
        default: ClientFactory,
        *,
        ca_bundle: str | None,
        timeout: float,
        limits: httpx.Limits = LIMITS,
        clock: Callable[[], float] = time.monotonic,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._network = network
        self._make_default = default
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._limits = limits
        self._kept: dict[uuid.UUID, _Kept] = {}
        self._default: dict[Origin, ClientShelf] = {}
        self._idle_seconds = limits.keepalive_expiry or 5.0
        self._clock = clock
        self._swept_at = clock()

    @contextlib.asynccontextmanager
    async def lease(
        self,
        partner: PartnerState,
        identity: ClientIdentity | None,
        url: str | None = None,
        *,
        apart: bool = False,
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the partner's profile for one send (to ``url``, by default its AS2
        URL); clients replaced meanwhile stay open until their sends are done. ``apart``:
        clients of the partner's own even with the default TLS settings, whose connections
        no other partner's request reuses (inbound-svc: those a partner's own networks
        allowed)."""
        if partner.tls == PartnerTls() and not apart:
            await self._retire(self._kept.pop(partner.id, None))
            async with self.lease_default(url or partner.as2_url) as client:
                yield client
            return
        await self._sweep()
        kept = await self._current(partner, identity, proxy_for(partner, url))
        async with kept.clients.lease() as client:
            yield client

    @contextlib.asynccontextmanager
    async def lease_default(self, url: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the default profile for one request to ``url`` (a partner with the
        default TLS settings, or one no longer configured)."""
        await self._sweep()
        origin = _origin(url)
        shelf = self._default.get(origin)
        if shelf is None:
            shelf = self._default[origin] = self._shelf(self._make_default)
        async with shelf.lease() as client:
            yield client

    def one_off(
        self, partner: PartnerState, identity: ClientIdentity | None, observe: Observer
    ) -> httpx.AsyncClient:
        """A new client of the partner's profile that tells ``observe`` of its handshake (the
        connection test: never a reused connection, always a handshake to report)."""
        return partner_clients(
            partner,
            identity,
            ca_bundle=self._ca_bundle,
            timeout=self._timeout,
            observe=observe,
            proxy=proxy_for(partner),
            limits=self._limits,
        )()

    async def refusal(
        self, partner: PartnerState, identity: ClientIdentity | None, url: str | None = None
    ) -> ssl.SSLError | None:
        """Why the partner's server dropped a connection just made, when it said so in a TLS
        alert: a TLS 1.3 server judges our client certificate (or its absence) after the
        handshake, and its alert is easily lost under the request we already sent. Asked
        only after such a failure: a new handshake, then nothing sent, only read. None when
        it says nothing (or the partner is behind a proxy). ``url``: where the failed request
        went, by default the partner's AS2 URL."""
        parts = urlsplit(url or partner.as2_url)
        if parts.scheme != "https" or proxy_for(partner, url) is not None:
            return None
        context = partner_context(partner.tls, ca_bundle=self._ca_bundle, identity=identity)
        backend = self._network or httpcore.AnyIOBackend()
        host, port = parts.hostname or "", parts.port or 443
        try:
            stream = await backend.connect_tcp(host, port, timeout=self._timeout)
            tls = await stream.start_tls(context, server_hostname=host, timeout=self._timeout)
            try:
                await tls.read(1, timeout=min(self._timeout, 2.0))
            finally:
                await tls.aclose()
        except ssl.SSLError as err:
            return err
        except (httpcore.NetworkError, httpcore.TimeoutException, OSError):
            return None
        return None

    def _shelf(self, make: ClientFactory) -> ClientShelf:
        return ClientShelf(make, idle_seconds=self._idle_seconds, clock=self._clock)

    async def _current(
        self, partner: PartnerState, identity: ClientIdentity | None, proxy: str | None
    ) -> _Kept:
        version = identity.version if identity and partner.tls.client_certificate else None
        key = (partner.revision, version, proxy)
        kept = self._kept.get(partner.id)
        if kept is not None and kept.key == key:
            return kept
        make = partner_clients(
            partner,
            identity,
            ca_bundle=self._ca_bundle,
            timeout=self._timeout,
            proxy=proxy,
            limits=self._limits,
            network=self._network,
        )
        self._kept[partner.id] = fresh = _Kept(key, self._shelf(make))
        await self._retire(kept)
        return fresh

    async def _retire(self, kept: _Kept | None) -> None:
        if kept is not None:
            await kept.clients.retire()

    async def _sweep(self) -> None:
        """Now and then (once per keep-alive expiry), close the clients idle for longer than
        it, and forget the default profile's origins nothing posts to any more."""
        now = self._clock()
        if now - self._swept_at < self._idle_seconds:
            return
        self._swept_at = now
        for shelf in self._shelves():
            await shelf.sweep()
        for origin, shelf in list(self._default.items()):
            if not shelf.idle and not shelf.lent:
                del self._default[origin]

    async def close_idle(self) -> None:
        """Close every client not in use now, and so its connections (a caller with nothing
        more to send for a while: see inbound-svc's async MDN delivery)."""
        for shelf in self._shelves():
            await shelf.sweep(0)

    async def aclose(self) -> None:
        for shelf in self._shelves():
            await shelf.retire()
        self._kept.clear()
        self._default.clear()

    def _shelves(self) -> list[ClientShelf]:
        return [kept.clients for kept in self._kept.values()] + list(self._default.values())
