"""uvicorn's HTTP/1.1 protocol with a deadline for the request line and header fields.

uvicorn (h11) has none: a client that sends one header byte every half second holds a
connection, and a slot of graceful shutdown, for as long as it likes. Here each request's
head must be complete within ``header_timeout`` seconds of the connection opening or of the
previous response; otherwise the client gets a 408 and the connection is closed. The body has
its own, idle timeout, in the endpoint (``http.read_body``), where what was spooled is freed.

A response's head leaves with the first part of its body (``HeadWithBody``).

A connection closed while its client is still sending (a refusal at the head, a 408 or 413 mid
body) is closed gently: the server stops writing, then reads and drops what still comes, for
at most ``LINGER_SECONDS`` or until the client closes too. Closed at once, with the client's
bytes unread, the kernel answers them with a reset, and a client that writes its whole body
before it reads (most do) loses the answer to "connection reset by peer" (RFC 9112, 9.6).

Over TLS, each request's scope also carries the ASGI TLS extension
(``scope["extensions"]["tls"]``): the client certificate the handshake verified, if any, in
``client_cert_chain`` (PEM; Python gives the leaf only), for the endpoint to pass on as data.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from as2bus.inbound.entrypoints.head_with_body import HeadWithBody

log = logging.getLogger("as2bus.inbound")

#: The longest a refused client's remaining bytes are read and dropped before the close.
LINGER_SECONDS = 2.0


def _answer_408(reason: str) -> bytes:
    body = reason.encode() + b"\n"
    head = (
        "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


#: ``ssl.SSLObject.version()`` as the TLS extension's ``tls_version`` (the wire value).
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(transport: asyncio.BaseTransport) -> dict[object, object] | None:
    """The ASGI TLS extension of a connection; None when it is not TLS."""
    ssl_object = transport.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class HeaderDeadlineProtocol(H11Protocol):
    """``H11Protocol`` that closes a connection whose request head is late (see the module)."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0  # of the request awaited: none yet means an idle connection
        self._tls: dict[object, object] | None = None
        self._lingering: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._tls = tls_extension(transport)  # the handshake is over: its certificate is known
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._lingering is not None:
            self._lingering.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            return  # the rest of a request already answered: dropped
        if self._head_deadline is not None:
            self._head_bytes += len(data)
        super().data_received(data)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's head was complete: its app is about to run
            self._disarm()
            self.cycle.transport = HeadWithBody(self.transport, self.cycle, self._close_answered)
            if self._tls is not None:  # before the app's task starts: it has not run yet
                self.cycle.scope.setdefault("extensions", {})["tls"] = dict(self._tls)

    def shutdown(self) -> None:
        # The server is stopping. A kept-alive TLS connection with no request under way is
        # aborted rather than closed: asyncio's TLS close waits up to 30 s for the client's
        # close_notify, and an HTTP client pool does not read an idle connection, so one
        # partner's (or outbound-svc's) idle connection held the whole graceful stop that long.
        # Only once its answer has left (an empty write buffer): nothing is cut short.
        idle = self.cycle is None or self.cycle.response_complete
        tls_idle = self._tls is not None and (idle or self.transport.is_closing())
        if tls_idle and not self.transport.get_write_buffer_size():
            self._disarm()
            self.transport.abort()
            return
        super().shutdown()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.our_state is h11.IDLE:
            self._arm()  # the next request on this connection gets the same deadline

    def _arm(self) -> None:
        self._disarm()
        self._head_bytes = 0
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_too_late)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_late(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.SEND_BODY or self.conn.our_state is not h11.IDLE:
            return  # a request is under way: the endpoint's timeouts apply
        if self._head_bytes == 0:  # idle (kept alive, or never used): closed without a word
            self.transport.close()
            return
        reason = f"the request headers were not complete within {self.header_timeout:g} s"
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.warning("closed the connection of %s: %s", client, reason)
        # Not through h11: it sends no response before a request. The connection ends here.
        self.transport.write(_answer_408(reason))
        self._close_gently()

    def _close_answered(self) -> None:
        """The close uvicorn asks for once a request is answered (or has failed)."""
        if self.conn.their_state is h11.SEND_BODY:
            self._close_gently()  # the client may still be sending its body
        else:
            self.transport.close()

    def _close_gently(self) -> None:
        """Stop writing, drop what the client still sends, close at its end or LINGER_SECONDS.

        Over TLS the close is at once: asyncio's TLS transport cannot stop writing alone.
        """
        transport = self.transport
        if transport.is_closing() or self._lingering is not None:
            return
        if self._tls is not None or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()  # after what is buffered: the answer leaves whole
        self._lingering = self.loop.call_later(LINGER_SECONDS, transport.close)
        transport.resume_reading()  # uvicorn may have paused it while the app was busy


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class to give uvicorn (``http=``), with its deadline set."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": seconds})
