"""inbound-svc's own HTTPS: its certificate, reloaded when it changes, and the TLS client
certificates it trusts (every partner's, kept current, and an optional CA file).

The key and certificate come from a ``TlsSource``: two files (``TlsFiles``, here), or one of our
key aliases in cert-svc (``adapters/cert_svc_tls.py``).

uvicorn listens with one SSLContext for its whole life (``ServerTls.context``). Its
``sni_callback`` runs in every handshake, with or without a server name, and hands the
connection the *current* context (``ssl_object.context``), rebuilt when the source changes
(polled by ``watch``) or partners' client certificates do (compared at each handshake, a
tuple of revisions): new connections get the new certificate and trust, open ones keep theirs.
A context swapped in this way keeps the listening one's verify mode and flags (OpenSSL copies
them when the connection is made), so every context is built alike (``build_context``).

OpenSSL verifies a client certificate in the handshake: none is fine (CERT_OPTIONAL), an
untrusted or expired one ends it. Which partner a certificate identifies is decided per request
(``client_certificates.py``); a partner's listed certificate may be a leaf or an intermediate
CA, hence partial chains are accepted as trust anchors.

Every context reports a failed handshake in words, and lets its alert reach the client
(``handshake_watch.py``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from as2bus.contracts import PartnerState
from as2bus.inbound.adapters.handshake_report import HandshakeFailures
from as2bus.inbound.adapters.handshake_watch import HandshakeWatch, ServerContext
from as2bus.inbound.client_certificates import listed_certificates

log = logging.getLogger("as2bus.inbound")

#: TLS 1.2: forward secrecy (ECDHE) and AEAD ciphers only. TLS 1.3's suites are all AEAD.
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


class TlsSetupError(ValueError):
    """The TLS key or certificate cannot be used; the message is one sentence an operator can
    act on."""


class TlsSource(Protocol):
    """Where the endpoint's key and certificate come from."""

    @property
    def client_ca_file(self) -> Path | None: ...  # PEM: CAs trusted for client certificates

    def stamp(self) -> Hashable:
        """Changes whenever what ``load_into`` would load does."""
        ...

    def check(self) -> x509.Certificate:
        """The certificate, once the pair is shown usable; raises ``TlsSetupError``."""
        ...

    def load_into(self, context: ssl.SSLContext) -> None:
        """The key and certificate chain into ``context``; raises ``TlsSetupError``."""
        ...

    async def refresh(self) -> None:
        """Learn of a change (``stamp`` then tells); raises ``TlsSetupError``."""
        ...


@dataclass(frozen=True)
class TlsFiles:
    cert_file: Path  # PEM: the certificate, then its chain
    key_file: Path  # PEM: its private key, unencrypted
    client_ca_file: Path | None = None  # PEM: CAs trusted for client certificates

    def stamp(self) -> tuple[tuple[int, int] | None, ...]:
        """(mtime, size) of each file: a change of either is a change of the file."""
        return tuple(file_stamp(p) for p in (self.cert_file, self.key_file, self.client_ca_file))

    def check(self) -> x509.Certificate:
        return check_files(self)

    def load_into(self, context: ssl.SSLContext) -> None:
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as err:
            raise TlsSetupError(
                f"the TLS files {self.cert_file} and {self.key_file} cannot be used: {why(err)}"
            ) from None

    async def refresh(self) -> None:
        """Nothing to ask: ``stamp`` looks at the files themselves."""


def file_stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        info = path.stat() if path else None
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if info else None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsSetupError(f"the {what} {path} does not exist") from None
    except OSError as err:
        raise TlsSetupError(f"cannot read the {what} {path}: {err.strerror}") from None


def check_files(files: TlsFiles) -> x509.Certificate:
    """The server certificate, once the files are shown to be usable: PEM, the key unencrypted
    and belonging to the certificate. Raises ``TlsSetupError`` saying what is wrong."""
    certs_pem = _read(files.cert_file, "TLS certificate file")
    key_pem = _read(files.key_file, "TLS key file")
    try:
        leaf = x509.load_pem_x509_certificates(certs_pem)[0]
    except ValueError:
        raise TlsSetupError(
            f"the TLS certificate file {files.cert_file} holds no PEM certificate"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsSetupError(
            f"the TLS key file {files.key_file} is encrypted; give the key unencrypted and "
            "protect the file instead"
        ) from None
    except Exception:  # ValueError, UnsupportedAlgorithm: not a key we can read
        raise TlsSetupError(f"the TLS key file {files.key_file} holds no PEM private key") from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise TlsSetupError(
            f"the TLS key in {files.key_file} does not belong to the certificate in "
            f"{files.cert_file}"
        )
    check_client_ca(files.client_ca_file)
    return leaf


def check_client_ca(path: Path | None) -> None:
    """Raises ``TlsSetupError`` unless ``path`` (if any) holds PEM certificates."""
    if path is not None:
        try:
            x509.load_pem_x509_certificates(_read(path, "TLS client CA file"))
        except ValueError:
            raise TlsSetupError(f"the TLS client CA file {path} holds no PEM certificate") from None


def why(err: OSError | ssl.SSLError) -> str:
    return str(getattr(err, "reason", None) or err.strerror or err)


def build_context(source: TlsSource, partner_certificates: str) -> ServerContext:
    """A server context: our certificate, TLS 1.2 at least, modern ciphers, no compression,
    no renegotiation; client certificates asked for and, when sent, verified against
    ``partner_certificates`` (PEM) and the client CA file."""
    context = ServerContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
    context.verify_mode = ssl.CERT_OPTIONAL
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a listed leaf or intermediate
    source.load_into(context)
    try:
        if source.client_ca_file is not None:
            context.load_verify_locations(cafile=source.client_ca_file)
        if partner_certificates:
            context.load_verify_locations(cadata=partner_certificates)
    except (OSError, ssl.SSLError) as err:
        raise TlsSetupError(
            f"the TLS client certificates to trust cannot be used: {why(err)}"
        ) from None
    return context


def partners_pem(partners: Iterable[PartnerState]) -> str:
    """Every partner's TLS client certificates, as one PEM bundle."""
    certs = {c for p in partners for c in listed_certificates(p.tls.client_certificates_pem)}
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def describe(cert: x509.Certificate) -> str:
    return f"{cert.subject.rfc4514_string()!r}, valid until {cert.not_valid_after_utc:%Y-%m-%d}"


class ServerTls:
    """The listening context, and the current one it hands each handshake (see the module)."""

    def __init__(
        self,
        source: TlsSource,
        *,
        reload_seconds: float,
        failures: HandshakeFailures | None = None,
    ) -> None:
        self.source = source
        self.reload_seconds = reload_seconds
        self._stamp = source.stamp()
        self.certificate = source.check()
        self._partners: Callable[[], Iterable[PartnerState]] = tuple
        self._revisions: tuple[tuple[uuid.UUID, int], ...] = ()
        self._partner_pem = ""
        self._watch = HandshakeWatch(failures or HandshakeFailures())
        self._current = self._build()
        #: What uvicorn listens with (``ssl_context_factory``).
        self.context = self._build()
        self._refusal = ""  # the source's last refusal, logged once
        self.context.sni_callback = self._choose

    def follow_partners(self, partners: Callable[[], Iterable[PartnerState]]) -> None:
        """Trust the client certificates of ``partners()``, as they are at each handshake."""
        self._partners = partners
        self._trust_partners()

    async def watch(self) -> None:
        """Reload the pair when it changes, every ``reload_seconds``; until cancelled."""
        while True:
            await asyncio.sleep(self.reload_seconds)
            await self.refresh()
            self.reload_if_changed()

    async def refresh(self) -> None:
        """Ask the source for news; a refusal is logged once (until it changes or ends)."""
        try:
            await self.source.refresh()
        except TlsSetupError as err:
            if str(err) != self._refusal:
                log.warning("kept the TLS certificate in use: %s", err)
            self._refusal = str(err)
        else:
            self._refusal = ""

    def reload_if_changed(self) -> bool:
        """Load the pair if it changed since last looked at; whether it was loaded. A pair
        that cannot be used is logged and the one in use kept."""
        stamp = self.source.stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            certificate = self.source.check()
            self._current = self._build()
        except TlsSetupError as err:
            log.warning("kept the TLS certificate in use: %s", err)
            return False
        self.certificate = certificate
        log.info("loaded the TLS certificate %s for new connections", describe(certificate))
        return True

    def _build(self) -> ServerContext:
        context = build_context(self.source, self._partner_pem)
        self._watch.install(context)
        return context

    def _choose(self, ssl_object: ssl.SSLObject, _name: str | None, _ctx: ssl.SSLContext) -> None:
        try:
            self._trust_partners()
        except Exception as err:  # never the handshake's failure: the trust in use stays
            log.warning("could not update the trusted TLS client certificates: %s", err)
        ssl_object.context = self._current

    def _trust_partners(self) -> None:
        partners = list(self._partners())
        revisions = tuple((p.id, p.revision) for p in partners)
        if revisions == self._revisions:
            return
        self._revisions = revisions
        self._partner_pem = partners_pem(partners)
        try:
            self._current = self._build()
        except TlsSetupError as err:  # the pair changed under us: the next reload retries
            log.warning("kept the TLS client certificates trusted so far: %s", err)
