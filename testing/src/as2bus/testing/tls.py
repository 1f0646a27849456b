"""A private CA made by the tests, and the certificates real TLS tests need from it.

Server certificates (good, expired, for another host, self-signed) and client certificates
for mutual TLS, as PEM pairs; ``write_pair`` puts a pair in files as servers load them.
``PartnerServer`` is a partner's HTTPS endpoint that counts connections and bytes received,
``ConnectProxy`` an HTTP proxy opening CONNECT tunnels, both on a thread of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: (key PEM, certificate PEM)
Pair = tuple[bytes, bytes]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> Pair:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class PrivateCa:
    """A CA of the test's own: its certificate (``cert_pem``) is what a party trusts."""

    def __init__(self, name: str = "as2bus test CA") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self, *, host: str = "127.0.0.1", expired: bool = False, self_signed: bool = False
    ) -> Pair:
        """A server certificate for ``host`` (an IP address or a DNS name)."""
        return self._issue(host, ExtendedKeyUsageOID.SERVER_AUTH, [_alt_name(host)],
                           expired=expired, self_signed=self_signed)  # fmt: skip

    def issue_client(
        self, common_name: str, *, expired: bool = False, self_signed: bool = False
    ) -> Pair:
        """A TLS client certificate, for mutual TLS."""
        return self._issue(common_name, ExtendedKeyUsageOID.CLIENT_AUTH, [],
                           expired=expired, self_signed=self_signed)  # fmt: skip

    def _issue(
        self,
        subject: str,
        usage: x509.ObjectIdentifier,
        alt_names: list[x509.GeneralName],
        *,
        expired: bool,
        self_signed: bool,
    ) -> Pair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        start, end = now - timedelta(days=1), now + timedelta(days=30)
        if expired:
            start, end = now - timedelta(days=30), now - timedelta(days=1)
        issuer, signer = (_name(subject), key) if self_signed else (self.cert.subject, self.key)
        builder = (
            x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
        )  # fmt: skip
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        return _pem(key, builder.sign(signer, hashes.SHA256()))


def write_pair(directory: Path, name: str, pair: Pair) -> tuple[Path, Path]:
    """``<name>.key`` and ``<name>.pem`` in ``directory``: (key file, certificate file)."""
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.pem"
    key_file.write_bytes(pair[0])
    cert_file.write_bytes(pair[1])
    return key_file, cert_file


def certificate_sha256(cert_pem: bytes) -> str:
    """Hex SHA-256 of the certificate's DER (a certificate pin)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def public_key_sha256(cert_pem: bytes) -> str:
    """Hex SHA-256 of the certificate's SubjectPublicKeyInfo DER (a public-key pin)."""
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


# --- servers for TLS tests: a partner's HTTPS endpoint and a CONNECT proxy --------------------


def server_context(
    pair: Pair,
    *,
    client_cas: bytes | None = None,
    max_version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A server's TLS context from a pair (loaded from memory through a temporary directory);
    ``client_cas``: require a client certificate issued by (or equal to) one of these PEMs."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as directory:
        key_file, cert_file = write_pair(Path(directory), "server", pair)
        context.load_cert_chain(cert_file, key_file)
    if client_cas is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=client_cas.decode())
    if max_version is not None:
        context.maximum_version = max_version
    return context


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class _Loop:
    """An event loop on a thread of its own, for servers that sync and async tests share."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    servers: list[asyncio.Server] = field(default_factory=list)
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def __post_init__(self) -> None:
        # A refused handshake is what some tests are about: not an error to print.
        self.loop.set_exception_handler(lambda _loop, _context: None)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=10)

    def close(self) -> None:
        async def close() -> None:
            for writer in list(self.writers):
                writer.transport.abort()
            for server in self.servers:
                server.close()

        self.run(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class PartnerServer:
    """A partner's endpoint on loopback (``host`` "::1" for IPv6), HTTPS with ``context`` or
    plain HTTP without: answers every request ``200 OK`` with keep-alive, or what ``routes``
    say for its path (status, headers). It counts the connections it accepted (handshake
    made), every byte it received on them, and the requests.

    Blocking sockets on threads, not asyncio: a refused handshake sends its alert (asyncio's
    TLS drops the connection without it), as the partners' real servers do."""

    def __init__(
        self,
        context: ssl.SSLContext | None,
        *,
        host: str = "127.0.0.1",
        routes: dict[str, tuple[int, dict[str, str]]] | None = None,
    ) -> None:
        self.context = context
        self.routes = routes or {}
        self.connections = 0
        self.received = 0
        self.requests: list[Request] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server = _Threading((host, 0), family, self._serve)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        scheme = "https" if context else "http"
        self.origin = f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"

    def url(self, path: str = "/as2") -> str:
        return self.origin + path

    def _serve(self, connection: socket.socket) -> None:
        try:
            if self.context is not None:
                connection = self.context.wrap_socket(connection, server_side=True)
            self.connections += 1
            with connection.makefile("rb") as reader:
                while request := self._read(reader):
                    self.requests.append(request)
                    status, headers = self.routes.get(request.target, (200, {}))
                    head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    head += "Content-Length: 2\r\n"
                    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                    connection.sendall(head.encode() + b"\r\nOK")
        except (OSError, ValueError):
            pass  # a refused handshake, or the client gone
        finally:
            connection.close()

    def _read(self, reader: BinaryIO) -> Request | None:
        first = reader.readline()
        if not first:
            return None
        self.received += len(first)
        method, target, _ = first.decode("latin-1").split(" ", 2)
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            self.received += len(line)
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.received += 2
        body = reader.read(int(headers.get("content-length", "0")))
        self.received += len(body)
        return Request(method, target, headers, body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class _Threading(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        serve: Callable[[socket.socket], None],
    ) -> None:
        self.address_family = family
        self.serve = serve
        super().__init__(address, _Handler)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, _Threading)
        self.server.serve(self.request)


class ConnectProxy:
    """An HTTP proxy on loopback that opens CONNECT tunnels (``refuse``: answers 403 to
    each instead) and counts the CONNECTs it was asked for, by target."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.refuse = refuse
        self.connects: list[str] = []
        self._loop = _Loop()
        server = self._loop.run(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self._loop.servers.append(server)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._loop.writers.add(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
            if method != "CONNECT" or self.refuse:
                self.connects.append(target)
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            self.connects.append(target)
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            self._loop.writers.add(up_writer)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._loop.writers.discard(writer)
            writer.close()

    def close(self) -> None:
        self._loop.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
