"""Where a failed TLS handshake on our endpoint is caught: reported in words
(``handshake_report.py``), and its alert sent to the client before the connection closes.

What asyncio does without this (Python 3.11 to 3.13, ``asyncio/sslproto.py``): when OpenSSL ends
a server handshake, ``SSLProtocol._do_handshake`` hands the ``ssl.SSLError`` to
``_on_handshake_complete``, which calls ``_fatal_error``: that aborts the socket
(``transport._force_close``), and the alert OpenSSL has written into the outgoing memory BIO is
never sent; the partner sees "unexpected eof" or a reset. The error is an ``OSError``, which
``_fatal_error`` logs only when the loop runs in debug mode (``if self._loop.get_debug()``), so
a filter on the ``asyncio`` logger would see nothing without turning on loop debug mode (slow
callback warnings, resource tracking) in production. uvicorn's protocol is never called for
such a connection, so it cannot report it either.

The interception point: the ``ssl.SSLObject`` asyncio drives. ``SSLContext.sslobject_class``
(documented for this purpose) makes ``wrap_bio`` build a ``ReportingSSLObject``, whose
``do_handshake`` sees every failure first, and reports it. When OpenSSL has an alert to send,
the object keeps the error and raises ``SSLWantReadError`` instead, once: asyncio's answer to
want-read is to send what the outgoing BIO holds (the alert) and wait for the client, as in
every handshake. The kept error is raised at the next call (the client wrote more), and a
client that closes after the alert is seen as a reset; either way asyncio then ends the
connection as it did before. A client that neither writes nor closes after a fatal alert is
closed by asyncio's handshake timeout (60 s), like one that stalls mid-handshake. A failure
with no alert to send (plain HTTP on the port) is raised at once, as before. To see whether
there is one, the object needs the outgoing BIO: ``ServerContext.wrap_bio`` (a public method,
overridden) hands it over. Relied on: public asyncio behaviour (want-read means "flush and
wait") and public ``ssl`` API only.

Two things Python's ``ssl`` does not give are taken where they can be found; each degrades to
less detail, never to a failure, if a later Python changes it (the unit tests then fail):

- the client's certificate: OpenSSL drops one that fails verification, and TLS 1.3 sends it
  encrypted. CPython's message hook, ``SSLContext._msg_callback`` (underscored: meant for
  debugging), shows each handshake message as it is read: the Certificate message (its first
  certificate is the client's) and the ClientHello (the highest version the client offers).
  It runs for every TLS record of a connection; ``_note`` returns at once for all but those two.
- the client's address: an ``SSLObject`` does not know its socket. Its caller, asyncio's
  ``SSLProtocol``, holds the transport that does; it is looked up a frame above.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from typing import ClassVar

from cryptography import x509

from as2bus.inbound.adapters.handshake_report import Handshake, HandshakeFailures, explain

_HANDSHAKE = 22  # TLS content type
_CLIENT_HELLO, _CERTIFICATE = 1, 11  # TLS handshake message types


class ReportingSSLObject(ssl.SSLObject):
    """An ``SSLObject`` that reports its failed handshake and lets the alert out (see the
    module)."""

    failures: ClassVar[HandshakeFailures]  # set on the subclass ``HandshakeWatch`` makes
    outgoing: ssl.MemoryBIO | None = None  # what asyncio sends (``ServerContext.wrap_bio``)
    _seen: Handshake | None = None
    _kept: ssl.SSLError | None = None

    def seen(self) -> Handshake:
        if self._seen is None:
            self._seen = Handshake()
        return self._seen

    def do_handshake(self) -> None:
        if self._kept is not None:
            raise self._kept
        try:
            super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as err:
            self.failures.failed(_peer(), explain(err, self.seen()))
            if self.outgoing is None or not self.outgoing.pending:
                raise  # no alert to wait for
            self._kept = err
            raise ssl.SSLWantReadError("the handshake failed; its alert goes out first") from None


class ServerContext(ssl.SSLContext):
    """An ``SSLContext`` whose ``wrap_bio`` gives a ``ReportingSSLObject`` its outgoing BIO."""

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        wrapped = super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        if isinstance(wrapped, ReportingSSLObject):
            wrapped.outgoing = outgoing
        return wrapped


class HandshakeWatch:
    """Makes the contexts it is given report failed handshakes to ``failures``."""

    def __init__(self, failures: HandshakeFailures) -> None:
        self.failures = failures
        self._class = type("ReportingSSLObject", (ReportingSSLObject,), {"failures": failures})

    def install(self, context: ServerContext) -> None:
        context.sslobject_class = self._class
        if hasattr(context, "_msg_callback"):  # CPython's; elsewhere no certificate is named
            context._msg_callback = _note


def _note(
    conn: object, direction: str, version: int, content_type: int, kind: int, data: bytes
) -> None:
    """The message hook: keeps the ClientHello's version and the client's certificate."""
    if (
        content_type != _HANDSHAKE
        or direction != "read"
        or kind not in {_CLIENT_HELLO, _CERTIFICATE}
    ):
        return
    if not isinstance(conn, ReportingSSLObject):
        return
    try:  # an exception here would end the handshake: a message we cannot read names nothing
        if kind == _CLIENT_HELLO:
            conn.seen().hello_version = int.from_bytes(data[4:6], "big")
        else:
            conn.seen().certificate = first_certificate(data, version)
    except Exception:
        return


def first_certificate(message: bytes, version: int) -> x509.Certificate | None:
    """The first certificate of a TLS Certificate message (with its 4-byte header); None when
    it is empty. TLS 1.3 puts a request context first and extensions after each entry."""
    body = message[4:]
    if version == ssl.TLSVersion.TLSv1_3:
        body = body[1 + body[0] :]
    if len(body) < 6:  # the list's length and no entry
        return None
    size = int.from_bytes(body[3:6], "big")
    return x509.load_der_x509_certificate(body[6 : 6 + size])


def _peer() -> object:
    """The client's address (``peername``), from the transport of the ``SSLProtocol`` that
    called ``do_handshake``; None when it cannot be found."""
    frame = sys._getframe(2)  # above _peer and do_handshake
    for _ in range(3):
        transport = getattr(frame.f_locals.get("self"), "_transport", None)
        if isinstance(transport, asyncio.BaseTransport):
            return transport.get_extra_info("peername")
        if frame.f_back is None:
            break
        frame = frame.f_back
    return None
