"""The endpoint's TLS key from cert-svc (adapters/cert_svc_tls.py), on a fake key-material
client holding real, sealed entries: the alias's newest certificate in service is served over
real TLS, a rotation reaches new connections, each refusal is one sentence, and the key goes
into OpenSSL without an in-memory file left open."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from as2bus.contracts.certs import KeyMaterialEntry
from as2bus.inbound.adapters.cert_svc_tls import CertSvcKey, CertSvcSilentError
from as2bus.inbound.adapters.server_tls import ServerTls, TlsSetupError
from as2bus.shared.bus.keys import key_context
from as2bus.shared.crypto import SecretBox, generate_master_key
from as2bus.shared.keyring import KeyRing
from as2bus.testing.tls import Pair, PrivateCa, certificate_sha256
from as2bus.testing.waiting import until

from .receiving import inbound
from .serving import client_context, serving

CA = PrivateCa()
BOX = SecretBox(generate_master_key())
NOW = datetime.now(UTC)


def entry(pair: Pair, *, alias: str = "endpoint", activation: datetime = NOW) -> KeyMaterialEntry:
    cert = x509.load_pem_x509_certificate(pair[1])
    made = KeyMaterialEntry(
        id=uuid.uuid4(), alias=alias, kind="own", subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(), serial=f"{cert.serial_number:X}",
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        activation_at=activation - timedelta(seconds=1), cert_pem=pair[1].decode(),
    )  # fmt: skip
    return made.model_copy(update={"sealed_key": BOX.seal(pair[0], key_context(made))})


class FakeKeys:
    """cert-svc's key material as ``KeyMaterialClient`` hands it over; ``silent``: no answer."""

    def __init__(self, *entries: KeyMaterialEntry, box: SecretBox = BOX) -> None:
        self.entries = list(entries)
        self.silent = False
        self.box = box

    async def keyring(self) -> KeyRing:
        if self.silent:
            raise TimeoutError
        return KeyRing(self.entries)

    def private_key_pem(self, found: KeyMaterialEntry) -> bytes:
        assert found.sealed_key is not None
        return self.box.open(found.sealed_key, key_context(found))


async def fetched(keys: FakeKeys, alias: str = "endpoint") -> CertSvcKey:
    source = CertSvcKey(alias)
    source.use(keys)
    await source.refresh()
    return source


def served_fingerprint(port: int) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client_context(CA).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def memfds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return [link for link in found if link.startswith("/memfd:")]


async def test_the_aliass_certificate_is_served_and_an_import_under_it_reaches_new_connections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = CA.issue()
    keys = FakeKeys(entry(first), entry(CA.issue(), alias="another"))
    tls = ServerTls(await fetched(keys), reload_seconds=0.05)
    assert memfds() == []  # the key's in-memory file is closed once loaded
    caplog.set_level(logging.INFO, logger="as2bus.inbound")
    async with serving(inbound(), tls) as served:
        watching = asyncio.create_task(tls.watch())
        try:
            fingerprint = await asyncio.to_thread(served_fingerprint, served.port)
            assert fingerprint == certificate_sha256(first[1])
            renewed = CA.issue()
            keys.entries.append(entry(renewed, activation=datetime.now(UTC)))  # a rotation

            async def serves_the_renewed() -> bool:
                seen = await asyncio.to_thread(served_fingerprint, served.port)
                return seen == certificate_sha256(renewed[1])

            await until(serves_the_renewed, what="the rotated certificate served", timeout=5)
            keys.silent = True  # cert-svc away: the certificate in use stays, said once
            await asyncio.sleep(0.3)
            assert await serves_the_renewed()
        finally:
            watching.cancel()
    said = [r.getMessage() for r in caplog.records]
    assert sum("loaded the TLS certificate 'CN=127.0.0.1'" in m for m in said) == 1
    assert said.count(
        "kept the TLS certificate in use: cert-svc did not answer for our TLS key 'endpoint' "
        "(is it running?)"
    ) == 1  # fmt: skip
    assert not any("PRIVATE KEY" in m for m in said)


async def test_a_missing_alias_is_refused_saying_how_to_import_one() -> None:
    with pytest.raises(TlsSetupError) as refused:
        await fetched(FakeKeys(entry(CA.issue(), alias="another")))
    assert str(refused.value) == (
        "cert-svc holds no key of ours under the alias 'endpoint' in service now; import one: "
        "as2bus cert import FILE.p12 --alias endpoint"
    )


async def test_an_expired_certificate_is_refused_with_its_date() -> None:
    with pytest.raises(
        TlsSetupError, match=r"^our TLS certificate 'endpoint' in cert-svc expired on "
    ):
        await fetched(FakeKeys(entry(CA.issue(expired=True))))


async def test_no_answer_is_told_apart_to_be_asked_again() -> None:
    keys = FakeKeys(entry(CA.issue()))
    keys.silent = True
    with pytest.raises(CertSvcSilentError, match="did not answer"):
        await fetched(keys)


async def test_another_master_key_is_named() -> None:
    keys = FakeKeys(entry(CA.issue()), box=SecretBox(generate_master_key()))
    with pytest.raises(TlsSetupError, match="is AS2BUS_MASTER_KEY the one cert-svc uses"):
        await fetched(keys)
