"""The network async MDNs are POSTed over: each host resolved, its addresses judged
(``mdn_targets``), and the connection made to an address so judged, never to one looked up
again later.

``MdnNetwork.refusal`` judges a URL before each POST (a refusal fails the MDN at once, with
its sentence). ``MdnNetwork`` is also httpcore's network backend for the MDN clients (under
the pinning one, ``PinnedBackend(inner=...)``): every new connection resolves the host again,
refuses it if an address is not allowed, and connects to the checked address itself. A name
that resolved to a public address for the check and to 127.0.0.1 for the connection (DNS
rebinding) is therefore refused too. TLS is unaffected: httpcore starts it on that connection
with the URL's host name (SNI, and the certificate checked against that name).

The networks a partner allows for its own messages' MDNs (its ``async_mdn_networks``) are
allowed only within ``for_partner``, which MdnSender wraps around that partner's POST: the
judge reads them from the task's context, so the connections of another MDN, in another task,
are judged without them.

Through a proxy (the partner's ``proxy_url``, or HTTPS_PROXY and the like) the proxy
connects, after its own lookup: only the check before the POST applies, and a host whose
name resolves differently for the proxy is the residual risk docs/tls.md describes.
"""

from __future__ import annotations

import contextlib
import socket
import typing
from collections.abc import Iterator
from contextvars import ContextVar
from urllib.parse import urlsplit

import anyio
import httpcore

from as2bus.as2.headers import receipt_url_refusal
from as2bus.inbound.mdn_targets import MdnTargets, Network

#: The networks of the partner whose MDN this task is posting (``MdnNetwork.for_partner``).
_PARTNER_NETWORKS: ContextVar[tuple[Network, ...]] = ContextVar("partner_networks", default=())


class AddressRefusedError(ConnectionError):
    """A connection not made: the host resolves to an address MDNs may not reach."""


async def addresses_of(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (itself, for an address); raises OSError when it
    does not resolve."""
    found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


class MdnNetwork(httpcore.AsyncNetworkBackend):
    def __init__(
        self, targets: MdnTargets, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.targets = targets
        self._inner = inner or httpcore.AnyIOBackend()

    @contextlib.contextmanager
    def for_partner(self, networks: tuple[Network, ...]) -> Iterator[None]:
        """Within it, in this task only, ``networks`` (a partner's own) are allowed too."""
        token = _PARTNER_NETWORKS.set(networks)
        try:
            yield
        finally:
            _PARTNER_NETWORKS.reset(token)

    def _targets(self) -> MdnTargets:
        return self.targets.also(_PARTNER_NETWORKS.get())

    async def refusal(self, url: str) -> str | None:
        """Why no MDN may be POSTed to ``url``: not an http(s) URL, or a host that resolves
        to an address not allowed. None when it may (or when the host does not resolve just
        now: the POST fails then, and is tried again later)."""
        unusable = receipt_url_refusal(url)
        if unusable is not None:
            return unusable
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            found = await addresses_of(host, port)
        except OSError:
            return None
        return self._targets().refusal(host, found)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            found = await addresses_of(host, port)
        except OSError as err:
            raise httpcore.ConnectError(f"{host} could not be resolved: {err}") from err
        refused = self._targets().refusal(host, found)
        if refused is not None:
            raise AddressRefusedError(refused)
        failure: Exception | None = None
        for address in found:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                failure = err
        assert failure is not None  # getaddrinfo returns at least one address, or raises
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefusedError("an asynchronous MDN is not posted to a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
