"""Certificate pinning between the TLS handshake and the first byte of the request.

httpx has no hook there, and OpenSSL none Python can reach, so the check sits in httpcore's
network layer: a backend whose streams, once ``start_tls`` has finished the handshake with the
partner's context, compare the server's certificate with the pins and close the connection on
a mismatch, before httpcore writes the request on it. A message to an impostor holding a
certificate we would otherwise trust therefore never leaves us. Through a proxy the same stream
carries the tunnel, so the check is the same; a TLS connection to the proxy itself (another
context) is not checked against the partner's pins.

The same streams answer httpcore's question before each request, whether an idle pooled
connection is readable (closed by the server), from the socket looked up once: anyio's answer
costs a getpeername call and a map of attributes each time. With no pins, the backend is only
that (``clients.default_transport``).
"""

from __future__ import annotations

import hashlib
import select
import socket
import ssl
import typing
from collections.abc import Callable, Iterable

import httpcore
from cryptography import x509
from cryptography.hazmat.primitives import serialization

#: Told of each handshake with the partner (the connection test reports what it saw).
Observer = Callable[[ssl.SSLObject], None]


class PinMismatchError(ConnectionError):
    """The partner's server certificate matches none of the pins."""

    def __init__(self, certificate_sha256: str) -> None:
        super().__init__(
            f"the partner's certificate (SHA-256 {certificate_sha256}) matches none of the "
            "pinned ones"
        )
        self.certificate_sha256 = certificate_sha256


def fingerprints(der: bytes) -> tuple[str, str]:
    """(SHA-256 of the certificate's DER, SHA-256 of its SubjectPublicKeyInfo's DER), hex."""
    spki = (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return hashlib.sha256(der).hexdigest(), hashlib.sha256(spki).hexdigest()


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, with the pin check (and observer) after each handshake made
    with ``context``."""

    def __init__(
        self,
        context: ssl.SSLContext,
        pins: Iterable[str],
        observe: Observer | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.context = context
        self.pins = frozenset(pin.lower() for pin in pins)
        self.observe = observe
        self._inner = inner or httpcore.AnyIOBackend()

    def check(self, tls: ssl.SSLObject | None) -> None:
        """Raises PinMismatchError when pins are set and the server's certificate matches
        none of them (by certificate or by public key)."""
        if tls is None:
            return
        if self.pins:
            self._match(tls)
        if self.observe is not None:
            self.observe(tls)

    def _match(self, tls: ssl.SSLObject) -> None:
        der = tls.getpeercert(binary_form=True)
        if der is None:  # no certificate at all: nothing can match
            raise PinMismatchError("(none)")
        by_certificate, by_key = fingerprints(der)
        if not self.pins & {by_certificate, by_key}:
            raise PinMismatchError(by_certificate)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _CheckedStream(stream, self)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - partners are reached over TCP
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return _CheckedStream(stream, self)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def readable(sock: socket.socket) -> bool:
    """Whether a read would not wait: on an idle pooled connection, that the server closed it
    (or sent what it should not have), so the pool must not send the next request on it. A
    closed socket counts as readable (its next read is the end)."""
    if sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class _CheckedStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream, backend: PinnedBackend) -> None:
        self._stream = stream
        self._backend = backend
        # Before each request, httpcore's pool asks every idle connection whether it is
        # readable; anyio answers by building a map of the socket's attributes, with a
        # getpeername call, every time (with 16 sends in flight to a partner, about 45 times
        # per message). The socket is the same for the connection's life (under TLS too), so
        # it is looked up once.
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._socket is not None:
            return readable(self._socket)
        return self._stream.get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        if ssl_context is self._backend.context:  # the partner's handshake, not a proxy's
            try:
                self._backend.check(tls.get_extra_info("ssl_object"))
            except PinMismatchError as err:
                await tls.aclose()
                # httpcore's own error type, so that httpx turns it into a ConnectError (with
                # this one as its cause) like any other failure to connect.
                raise httpcore.ConnectError(str(err)) from err
        return _CheckedStream(tls, self._backend)
