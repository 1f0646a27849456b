"""inbound-svc serving HTTPS with our key held by cert-svc (AS2BUS_INBOUND_TLS_KEY_ALIAS), as
real processes (config-svc, cert-svc, inbound-svc on one NATS): the certificate a client sees is
the one imported; after an import of a new one under the same alias, new connections see the
new one, without a restart; an alias cert-svc does not hold stops the start with one sentence."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import Pair, PrivateCa, certificate_sha256
from as2bus.testing.waiting import until

from .conftest import stop

CA = PrivateCa("endpoint CA")
ALIAS = "endpoint-tls"
PASSWORD = "import-password"


def p12(pair: Pair) -> bytes:
    key = serialization.load_pem_private_key(pair[0], password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    cert = x509.load_pem_x509_certificate(pair[1])
    protection = serialization.BestAvailableEncryption(PASSWORD.encode())
    return pkcs12.serialize_key_and_certificates(b"endpoint", key, cert, None, protection)


async def import_under_alias(certs: httpx.AsyncClient, pair: Pair) -> None:
    """What `as2bus cert import tls.p12 --alias endpoint-tls` sends."""
    answer = await certs.post(
        "/api/v1/certificates/own/import",
        data={"alias": ALIAS, "password": PASSWORD},
        files={"file": ("tls.p12", p12(pair), "application/x-pkcs12")},
    )
    assert answer.status_code == 201, answer.text


def served_fingerprint(port: int, ca_file: Path) -> str:
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "endpoint-ca.pem"
    path.write_bytes(CA.cert_pem)
    return path


def inbound_env(nats_url: str, master_key: str, tmp_path: Path) -> dict[str, str]:
    return {
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}",
        "AS2BUS_MASTER_KEY": master_key,
        "AS2BUS_INBOUND_TLS_KEY_ALIAS": ALIAS,
        "AS2BUS_INBOUND_TLS_RELOAD_SECONDS": "0.2",
    }


async def test_the_imported_certificate_is_served_and_a_new_import_reaches_new_connections(
    nats_url: str, master_key: str, tmp_path: Path, cert_api: httpx.AsyncClient, ca_file: Path
) -> None:
    first = CA.issue()
    await import_under_alias(cert_api, first)
    env = inbound_env(nats_url, master_key, tmp_path)
    inbound = ServiceProcess("as2bus.inbound", env, tmp_path / "inbound.log", tls_ca=ca_file)
    inbound.start()
    try:
        assert served_fingerprint(inbound.port, ca_file) == certificate_sha256(first[1])
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=ca_file)) as http:
            assert (await http.get(f"{inbound.base_url}/readyz")).status_code == 200

        renewed = CA.issue()
        await import_under_alias(cert_api, renewed)  # a rotation of the alias, activated now

        async def serves_the_renewed() -> bool:
            return served_fingerprint(inbound.port, ca_file) == certificate_sha256(renewed[1])

        await until(serves_the_renewed, what="the newly imported certificate served", timeout=10)
    finally:
        stop(inbound)
    log = inbound.log()
    assert "AS2 endpoint https://" in log
    assert log.count("loaded the TLS certificate 'CN=127.0.0.1'") == 1
    assert "PRIVATE KEY" not in log
    assert "Traceback" not in log


def test_an_alias_cert_svc_does_not_hold_stops_the_start_with_one_sentence(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess
) -> None:
    env = {**os.environ, **inbound_env(nats_url, master_key, tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "as2bus.inbound"], env=env, capture_output=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"inbound-svc: cert-svc holds no key of ours under the alias '{ALIAS}' in service now; "
        f"import one: as2bus cert import FILE.p12 --alias {ALIAS}\n"
    )
