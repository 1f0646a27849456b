"""inbound-svc's TLS files (adapters/server_tls.py): a changed pair is served to the next
connections without a restart, a bad one is refused with one line and the old one kept; at the
start, files that cannot be used stop the service with one sentence."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import ssl
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from as2bus.inbound.adapters.server_tls import ServerTls, TlsFiles, TlsSetupError
from as2bus.inbound.bootstrap import server_tls as configured_tls
from as2bus.inbound.settings import InboundSettings
from as2bus.testing.tls import PrivateCa, certificate_sha256, write_pair
from as2bus.testing.waiting import until

from .receiving import inbound
from .serving import client_context, server_tls, serving

CA = PrivateCa()


def served_fingerprint(port: int) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client_context(CA).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


async def test_a_new_certificate_is_served_to_new_connections_and_a_bad_one_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tls = server_tls(CA, tmp_path)  # polls every 0.05 s
    served_files = tls.source
    assert isinstance(served_files, TlsFiles)
    first = certificate_sha256(served_files.cert_file.read_bytes())
    async with serving(inbound(), tls) as served:
        watching = asyncio.create_task(tls.watch())
        try:
            assert await asyncio.to_thread(served_fingerprint, served.port) == first
            renewed = CA.issue()
            write_pair(tmp_path, "server", renewed)  # the same files, as a Secret update does
            second = certificate_sha256(renewed[1])

            async def serves_the_renewed() -> bool:
                return await asyncio.to_thread(served_fingerprint, served.port) == second

            await until(serves_the_renewed, what="the renewed certificate served", timeout=5)

            caplog.set_level(logging.WARNING, logger="as2bus.inbound")
            other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            served_files.key_file.write_bytes(
                other_key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            await asyncio.sleep(0.3)  # several polls
            assert await asyncio.to_thread(served_fingerprint, served.port) == second
        finally:
            watching.cancel()
    kept = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert kept == [
        f"kept the TLS certificate in use: the TLS key in {served_files.key_file} does not belong "
        f"to the certificate in {served_files.cert_file}"
    ]


def files(tmp_path: Path) -> TlsFiles:
    key_file, cert_file = write_pair(tmp_path, "server", CA.issue())
    return TlsFiles(cert_file, key_file)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = TlsFiles(tmp_path / "nope.pem", files(tmp_path).key_file)
    refusal = r"^the TLS certificate file .*nope.pem does not exist$"
    with pytest.raises(TlsSetupError, match=refusal):
        ServerTls(missing, reload_seconds=30)


def test_a_key_that_is_not_pem_is_named(tmp_path: Path) -> None:
    pair = files(tmp_path)
    pair.key_file.write_text("not a key\n")
    with pytest.raises(TlsSetupError, match=r"^the TLS key file .* holds no PEM private key$"):
        ServerTls(pair, reload_seconds=30)


def test_an_encrypted_key_is_refused_saying_so(tmp_path: Path) -> None:
    pair = files(tmp_path)
    key = serialization.load_pem_private_key(pair.key_file.read_bytes(), password=None)
    pair.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(TlsSetupError, match=r"is encrypted; give the key unencrypted"):
        ServerTls(pair, reload_seconds=30)


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    pair = files(tmp_path)
    other_key, _ = write_pair(tmp_path, "other", CA.issue())
    with pytest.raises(TlsSetupError, match=r"^the TLS key in .*other.key does not belong to"):
        ServerTls(TlsFiles(pair.cert_file, other_key), reload_seconds=30)


def test_a_certificate_followed_by_its_chain_is_accepted(tmp_path: Path) -> None:
    pair = files(tmp_path)
    pair.cert_file.write_bytes(pair.cert_file.read_bytes() + CA.cert_pem)
    tls = ServerTls(pair, reload_seconds=30)
    assert tls.context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_settings_give_https_only_with_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = files(tmp_path)
    assert configured_tls(InboundSettings()) is None  # plain HTTP: the default
    monkeypatch.setenv("AS2BUS_INBOUND_TLS_CERT_FILE", str(pair.cert_file))
    with pytest.raises(ValueError, match="go together: set both for HTTPS, or neither"):
        configured_tls(InboundSettings())
    monkeypatch.setenv("AS2BUS_INBOUND_TLS_KEY_FILE", str(pair.key_file))
    assert configured_tls(InboundSettings()) is not None
