"""The endpoint's TLS key and certificate from cert-svc: one of our key aliases
(``AS2BUS_INBOUND_TLS_KEY_ALIAS``), imported there like any key of ours (PKCS#12).

Which certificate of the alias is served is the key ring's choice for signing
(``shared/keyring.py``): the newest in service and unexpired. So an import under the same alias
(a rotation) is served from its activation on, and a certificate scheduled to activate later
takes over by itself. The key ring is fetched the way decryption keys are (``KeyMaterialClient``:
cached until a certificate event), the private key arrives sealed with the master key and is
opened here, and reaches OpenSSL from memory only (``as2bus.shared.tls_files``): it never
touches a disk.

At the start the key is fetched before uvicorn listens (``fetch_at_start``), over a connection
of its own, so that a missing alias stops the start with one sentence as a missing file does.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import nats
import nats.errors
from cryptography import x509

from as2bus.contracts.certs import KeyMaterialEntry
from as2bus.inbound.adapters.server_tls import TlsSetupError, check_client_ca, file_stamp, why
from as2bus.shared.bus.connection import inbox_prefix
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.crypto import SecretBox, SecretDecryptError
from as2bus.shared.keyring import CertificateUnavailableError, KeyRing
from as2bus.shared.tls_files import load_key_and_chain

#: What cert-svc not answering looks like (not running yet, or NATS away for a moment).
SILENCE = (nats.errors.NoRespondersError, nats.errors.TimeoutError, TimeoutError)


class CertSvcSilentError(TlsSetupError):
    """cert-svc did not answer: worth asking again, unlike the other refusals."""


class KeyMaterial(Protocol):
    """What is asked of cert-svc: ``KeyMaterialClient``."""

    async def keyring(self) -> KeyRing: ...

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes: ...


class CertSvcKey:
    """A ``TlsSource``: our key and certificate under ``alias`` in cert-svc, asked through
    ``use``'s key-material client."""

    def __init__(
        self,
        alias: str,
        *,
        client_ca_file: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.alias = alias
        self.client_ca_file = client_ca_file
        self._clock = clock
        self._keys: KeyMaterial | None = None
        self._entry: KeyMaterialEntry | None = None
        self._key_pem = b""

    def use(self, keys: KeyMaterial) -> None:
        """Ask through ``keys`` from now on (at the start a connection of its own, then the
        service's key-material client)."""
        self._keys = keys

    def stamp(self) -> tuple[uuid.UUID | None, tuple[int, int] | None]:
        return (self._entry.id if self._entry else None, file_stamp(self.client_ca_file))

    async def refresh(self) -> None:
        """The alias's certificate to serve now; its key unsealed when it is a new one."""
        if self._keys is None:
            raise TlsSetupError(f"our TLS key '{self.alias}' has no way to cert-svc yet")
        try:
            ring = await self._keys.keyring()
        except SILENCE:
            raise CertSvcSilentError(
                f"cert-svc did not answer for our TLS key '{self.alias}' (is it running?)"
            ) from None
        try:
            entry = ring.signing_key(self.alias, self._clock())
        except CertificateUnavailableError as err:
            raise TlsSetupError(self._unavailable(err)) from None
        if self._entry is not None and entry.id == self._entry.id:
            return
        try:
            key_pem = self._keys.private_key_pem(entry)
        except (SecretDecryptError, ValueError):
            raise TlsSetupError(
                f"the private key of our TLS certificate '{self.alias}' from cert-svc cannot be "
                "opened: is AS2BUS_MASTER_KEY the one cert-svc uses?"
            ) from None
        self._entry, self._key_pem = entry, key_pem

    def _unavailable(self, err: CertificateUnavailableError) -> str:
        if err.reason == "CERT_HAS_EXPIRED":
            detail = str(err).rsplit(": ", 1)[-1]
            return f"our TLS certificate '{self.alias}' in cert-svc {detail}; import a new one"
        return (
            f"cert-svc holds no key of ours under the alias '{self.alias}' in service now; "
            f"import one: as2bus cert import FILE.p12 --alias {self.alias}"
        )

    def check(self) -> x509.Certificate:
        if self._entry is None:
            raise TlsSetupError(f"our TLS key '{self.alias}' has not been fetched from cert-svc")
        check_client_ca(self.client_ca_file)
        return x509.load_pem_x509_certificate(self._entry.cert_pem.encode())

    def load_into(self, context: ssl.SSLContext) -> None:
        if self._entry is None:
            raise TlsSetupError(f"our TLS key '{self.alias}' has not been fetched from cert-svc")
        try:
            load_key_and_chain(context, self._key_pem, self._entry.cert_pem.encode())
        except ssl.SSLError as err:
            raise TlsSetupError(
                f"our TLS certificate '{self.alias}' from cert-svc (id {self._entry.id}) cannot "
                f"be used: {why(err)}"
            ) from None


async def _fetch(source: CertSvcKey, nats_url: str, box: SecretBox, wait_seconds: float) -> None:
    try:
        client = await nats.connect(
            nats_url,
            name="inbound-svc-tls",
            inbox_prefix=inbox_prefix(nats_url),
            connect_timeout=5,
            max_reconnect_attempts=0,
        )
    except Exception as err:  # NoServersError, OSError, auth: the URL may hold a password
        raise TlsSetupError(
            f"could not reach NATS to fetch our TLS key '{source.alias}' from cert-svc "
            f"({type(err).__name__})"
        ) from None
    source.use(KeyMaterialClient(client, box))
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                await source.refresh()
                return
            except CertSvcSilentError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(1)
    finally:
        await client.close()


def fetch_at_start(
    source: CertSvcKey, nats_url: str, box: SecretBox, *, wait_seconds: float = 30
) -> CertSvcKey:
    """``source`` with its key, fetched before the service's event loop runs; waits up to
    ``wait_seconds`` for cert-svc (started at the same time). Raises ``TlsSetupError``."""
    asyncio.run(_fetch(source, nats_url, box, wait_seconds))
    return source
