"""inbound-svc serving HTTPS itself, with mutual TLS per partner, as real processes (config-svc,
cert-svc, inbound-svc): a partner played by ``openssl s_client`` and by httpx sends over TLS
with its client certificate and gets its MDN; without one, with another partner's, with one
from an unknown CA or expired, over TLS 1.1, it is refused; a bad key file stops the start with
one sentence. A failed handshake is explained on both sides: the partner's TLS client gets the
alert, inbound-svc logs a line in words and counts it."""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import PrivateCa, write_pair

from .conftest import client, partnership_with_keys, stop
from .partner_openssl import OpensslPartner
from .test_inbound_end_to_end import PAYLOAD, report_fields

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")

SERVER_CA, ACME_CA, BOLT_CA, STRANGER_CA = (PrivateCa(n) for n in ("server", "acme", "bolt", "x"))


@pytest.fixture
def server_ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "server-ca.pem"
    path.write_bytes(SERVER_CA.cert_pem)
    return path


@pytest.fixture
def inbound_https(
    nats_url: str, master_key: str, tmp_path: Path, cert_svc: ServiceProcess, server_ca_file: Path
) -> Iterator[ServiceProcess]:
    key_file, cert_file = write_pair(tmp_path, "inbound", SERVER_CA.issue())
    env = {  # conftest.start_inbound's, and the TLS files
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}",
        "AS2BUS_MASTER_KEY": master_key,
        "AS2BUS_INBOUND_MAX_BODY_BYTES": str(1024 * 1024),
        "AS2BUS_INBOUND_TLS_CERT_FILE": str(cert_file),
        "AS2BUS_INBOUND_TLS_KEY_FILE": str(key_file),
    }
    proc = ServiceProcess("as2bus.inbound", env, tmp_path / "inbound.log", tls_ca=server_ca_file)
    yield proc.start()
    stop(proc)


async def configure_partners(config_svc: ServiceProcess) -> None:
    """acme must present a client certificate issued by its CA; bolt's come from its own."""
    async with client(config_svc) as config:
        (acme,) = (await config.get("/api/v1/partners")).json()
        tls = {
            "require_client_certificate": True,
            "client_certificates_pem": ACME_CA.cert_pem.decode(),
        }
        answer = await config.patch(f"/api/v1/partners/{acme['id']}", json={"tls": tls})
        assert answer.status_code == 200, answer.text
        bolt = {
            "as2_id": "bolt", "name": "Bolt", "as2_url": "http://127.0.0.1:9/as2",
            "tls": {"client_certificates_pem": BOLT_CA.cert_pem.decode()},
        }  # fmt: skip
        answer = await config.post("/api/v1/partners", json=bolt)
        assert answer.status_code == 201, answer.text


@pytest.fixture
async def partner(
    config_svc: ServiceProcess, cert_svc: ServiceProcess, tmp_path: Path
) -> OpensslPartner:
    ours, theirs = await partnership_with_keys(config_svc, cert_svc)
    await configure_partners(config_svc)
    return OpensslPartner(tmp_path, "acme", ours, theirs)


def s_client(port: int, ca_file: Path, request: bytes, *options: str | Path) -> tuple[int, bytes]:
    """One HTTP request over ``openssl s_client``: (its exit code, what the server answered)."""
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(ca_file),
         "-verify_return_error", "-quiet", *map(str, options)],
        input=request, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout


def http_request(headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"POST /as2 HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, {k.lower(): v for k, v in headers.items()}, body


def client_for(ca_file: Path, files: tuple[Path, Path] | None) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=ca_file)
    if files is not None:
        context.load_cert_chain(files[1], files[0])
    return httpx.AsyncClient(verify=context, timeout=30)


async def test_a_partner_with_its_client_certificate_is_received_over_https(
    inbound_https: ServiceProcess, partner: OpensslPartner, server_ca_file: Path, tmp_path: Path
) -> None:
    acme_key, acme_cert = write_pair(tmp_path, "acme-client", ACME_CA.issue_client("acme"))
    # openssl s_client, a TLS client we did not write, presenting acme's certificate.
    body, mic = partner.signed_and_encrypted(PAYLOAD)
    code, raw = s_client(
        inbound_https.port, server_ca_file, http_request(partner.headers("MYCO"), body),
        "-cert", acme_cert, "-key", acme_key,
    )  # fmt: skip
    status, headers, mdn = split_response(raw)
    assert (code, status) == (0, "HTTP/1.1 200 OK"), raw[:500]
    fields = report_fields(partner.verify_mdn(headers["content-type"], mdn))
    assert "processed" in fields["disposition"]
    assert fields["received-content-mic"].split(",")[0].strip() == mic

    # httpx with the test CA, the same certificate: a second message.
    body, _ = partner.signed_and_encrypted(PAYLOAD)
    url = f"https://127.0.0.1:{inbound_https.port}/as2"
    async with client_for(server_ca_file, (acme_key, acme_cert)) as http:
        answer = await http.post(url, headers=partner.headers("MYCO"), content=body)
    assert answer.status_code == 200, answer.text
    assert (
        "processed"
        in report_fields(partner.verify_mdn(answer.headers["content-type"], answer.content))[
            "disposition"
        ]
    )


async def test_the_wrong_connections_are_refused_each_saying_why(
    inbound_https: ServiceProcess, partner: OpensslPartner, server_ca_file: Path, tmp_path: Path
) -> None:
    url = f"https://127.0.0.1:{inbound_https.port}/as2"
    body, _ = partner.signed_and_encrypted(PAYLOAD)

    async def post(files: tuple[Path, Path] | None) -> httpx.Response:
        async with client_for(server_ca_file, files) as http:
            return await http.post(url, headers=partner.headers("MYCO"), content=body)

    none = await post(None)
    assert none.status_code == 403
    assert none.text == (
        "partner 'acme' must present its TLS client certificate, and this connection carries none\n"
    )
    bolts = await post(write_pair(tmp_path, "bolt", BOLT_CA.issue_client("bolt")))
    assert (bolts.status_code, bolts.text) == (
        403, "the TLS client certificate belongs to partner 'bolt', not to AS2-From 'acme'\n"
    )  # fmt: skip
    for name, pair, alert in [
        ("stranger", STRANGER_CA.issue_client("acme"), "alert unknown ca"),
        ("expired", ACME_CA.issue_client("acme", expired=True), "alert certificate expired"),
    ]:
        # The handshake fails: no HTTP at all, the alert says why (over TLS 1.3 it arrives as
        # httpx reads the answer, and httpx lets it out unwrapped).
        with pytest.raises((httpx.TransportError, ssl.SSLError), match=alert):
            await post(write_pair(tmp_path, name, pair))
    acme_key, acme_cert = write_pair(tmp_path, "acme-client", ACME_CA.issue_client("acme"))
    code, raw = s_client(
        inbound_https.port, server_ca_file, http_request(partner.headers("MYCO"), body),
        "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-cert", acme_cert, "-key", acme_key,
    )  # fmt: skip
    assert code != 0
    assert b"HTTP/1.1" not in raw
    log = inbound_https.log()
    assert "must present its TLS client certificate" in log
    assert "CA no partner lists (CN=acme, issuer CN=x)" in log
    assert "failed: the client certificate has expired (CN=acme, expired " in log
    assert "failed: the client offered TLS 1.1 at most; we require TLS 1.2 or later" in log
    assert "Traceback" not in log


async def test_a_failed_handshake_is_explained_to_the_partner_and_to_the_operator(
    inbound_https: ServiceProcess, partner: OpensslPartner, server_ca_file: Path, tmp_path: Path
) -> None:
    pair = ACME_CA.issue_client("acme", expired=True)
    key_file, cert_file = write_pair(tmp_path, "expired", pair)
    ended = f"{x509.load_pem_x509_certificate(pair[1]).not_valid_after_utc:%Y-%m-%d}"
    body, _ = partner.signed_and_encrypted(PAYLOAD)
    for version in ("-tls1_2", "-tls1_3"):
        done = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{inbound_https.port}",
             "-CAfile", str(server_ca_file), "-quiet", version,
             "-cert", str(cert_file), "-key", str(key_file)],
            input=http_request(partner.headers("MYCO"), body), capture_output=True, timeout=30,
            check=False,
        )  # fmt: skip
        assert done.returncode != 0
        assert b"HTTP/1.1" not in done.stdout
        assert b"sslv3 alert certificate expired" in done.stderr, done.stderr[-500:]
    line = re.compile(
        r"TLS handshake from 127\.0\.0\.1:\d+ failed: the client certificate has expired "
        rf"\(CN=acme, expired {ended}\)"
    )
    assert len(line.findall(inbound_https.log())) == 1  # the second: within the minute, held
    async with client_for(server_ca_file, None) as http:
        metrics = await http.get(f"https://127.0.0.1:{inbound_https.port}/metrics")
    counted = 'as2bus_inbound_tls_handshake_failures_total{reason="certificate-expired"} 2.0'
    assert counted in metrics.text


def test_a_key_file_that_is_not_a_key_stops_the_start_with_one_sentence(tmp_path: Path) -> None:
    key_file, cert_file = write_pair(tmp_path, "inbound", SERVER_CA.issue())
    key_file.write_text("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    env = {
        **os.environ,
        "AS2BUS_INBOUND_TLS_CERT_FILE": str(cert_file),
        "AS2BUS_INBOUND_TLS_KEY_FILE": str(key_file),
        "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "as2bus.inbound"], env=env, capture_output=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f"inbound-svc: the TLS key file {key_file} holds no PEM private key\n"
    )
