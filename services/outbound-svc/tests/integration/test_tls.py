"""TLS to partners is verified by default; a partner with a private CA needs its CA bundle."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from as2bus.as2.headers import USER_AGENT
from as2bus.outbound.bootstrap import http_client
from as2bus.outbound.settings import OutboundSettings
from as2bus.testing.infra import free_port
from as2bus.testing.waiting import until_sync


def issue(tmp: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Partner Private CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp / "server.pem").write_bytes(cert.public_bytes(pem))
    (tmp / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"


@pytest.fixture
def tls_partner(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca, cert, key = issue(tmp_path)
    port = free_port()

    async def as2(request: Request) -> Response:
        return Response(request.headers.get("user-agent", "").encode())

    app = Starlette(routes=[Route("/as2", as2, methods=["POST"])])
    config = uvicorn.Config(
        app,
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    until_sync(lambda: server.started, what="the TLS web server", interval=0.01)
    yield f"https://127.0.0.1:{port}/as2", ca
    server.should_exit = True
    thread.join(timeout=10)


async def test_partner_tls_is_verified_and_a_ca_bundle_makes_a_private_ca_trusted(
    tls_partner: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca = tls_partner
    async with http_client(OutboundSettings()) as default:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await default.post(url, content=b"x")
    monkeypatch.setenv("AS2BUS_OUTBOUND_CA_BUNDLE", str(ca))
    async with http_client(OutboundSettings()) as trusting:
        answer = await trusting.post(url, content=b"x")
    assert answer.status_code == 200
    # every request names us (token fetches, connection tests), not python-httpx
    assert answer.text == USER_AGENT
