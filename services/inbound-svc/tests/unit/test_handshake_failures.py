"""A TLS handshake that fails on our endpoint, over real TLS in-process (adapters/handshake_*):
the partner's TLS client receives the alert that says why (``openssl s_client``, a client we
did not write, and Python's), and the operator gets one line in words, with the client's
address and its certificate, and a counted reason; a flood of failures from one address gives
one line, not hundreds; a good handshake says nothing."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from prometheus_client import REGISTRY

from as2bus.inbound.adapters.handshake_report import HandshakeFailures
from as2bus.inbound.adapters.server_tls import ServerTls, TlsFiles
from as2bus.testing.tls import Pair, PrivateCa, write_pair
from as2bus.testing.waiting import until

from .receiving import inbound, partnership
from .serving import client_context, requiring, serving

SERVER_CA, ACME_CA, STRANGER_CA = (PrivateCa(n) for n in ("server", "acme", "Other CA"))
EXPIRED = ACME_CA.issue_client("acme-as2", expired=True)
STRANGERS = STRANGER_CA.issue_client("acme-as2")
METRIC = "as2bus_inbound_tls_handshake_failures_total"
REASONS = [
    "certificate-expired", "certificate-not-yet-valid", "unknown-ca", "bad-certificate",
    "no-certificate", "protocol-version", "no-shared-cipher", "plain-http", "not-tls",
    "client-alert", "other",
]  # fmt: skip


def failures(reason: str) -> float:
    return REGISTRY.get_sample_value(METRIC, {"reason": reason}) or 0.0


def all_failures() -> float:
    return sum(failures(r) for r in REASONS)


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("TLS handshake")]


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def endpoint_tls(directory: Path, clock: Clock | None = None) -> ServerTls:
    key_file, cert_file = write_pair(directory, "server", SERVER_CA.issue())
    reporter = HandshakeFailures(clock=clock) if clock else HandshakeFailures()
    return ServerTls(TlsFiles(cert_file, key_file), reload_seconds=30, failures=reporter)


def expiry(pair: Pair) -> str:
    return f"{x509.load_pem_x509_certificate(pair[1]).not_valid_after_utc:%Y-%m-%d}"


async def partner_sees(port: int, directory: Path, *options: str) -> str:
    """What ``openssl s_client`` reports, connecting with ``options`` and sending a request."""
    ca_file = directory / "server-ca.pem"
    ca_file.write_bytes(SERVER_CA.cert_pem)
    process = await asyncio.create_subprocess_exec(
        "openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(ca_file),
        "-ign_eof", *options,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    request = b"GET /as2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    out, _ = await asyncio.wait_for(process.communicate(request), 30)
    return out.decode(errors="replace")


def client_files(directory: Path, pair: Pair) -> list[str]:
    key_file, cert_file = write_pair(directory, "client", pair)
    return ["-cert", str(cert_file), "-key", str(key_file)]


CASES = [  # (what the client offers, what openssl shows, our reason, our words)
    ("expired-tls1.2", ["-tls1_2"], EXPIRED, "sslv3 alert certificate expired",
     "certificate-expired",
     f"the client certificate has expired (CN=acme-as2, expired {expiry(EXPIRED)})"),
    ("expired-tls1.3", ["-tls1_3"], EXPIRED, "sslv3 alert certificate expired",
     "certificate-expired",
     f"the client certificate has expired (CN=acme-as2, expired {expiry(EXPIRED)})"),
    ("unknown-ca-tls1.2", ["-tls1_2"], STRANGERS, "tlsv1 alert unknown ca", "unknown-ca",
     "the client certificate was issued by a CA no partner lists (CN=acme-as2, issuer "
     "CN=Other CA)"),
    ("unknown-ca-tls1.3", ["-tls1_3"], STRANGERS, "tlsv1 alert unknown ca", "unknown-ca",
     "the client certificate was issued by a CA no partner lists (CN=acme-as2, issuer "
     "CN=Other CA)"),
    ("tls1.1", ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], None,
     "tlsv1 alert protocol version", "protocol-version",
     "the client offered TLS 1.1 at most; we require TLS 1.2 or later"),
    ("no-shared-cipher", ["-tls1_2", "-cipher", "AES128-SHA256"], None,
     "sslv3 alert handshake failure", "no-shared-cipher",
     "no cipher in common (for TLS 1.2 we accept ECDHE with AES-GCM or ChaCha20-Poly1305)"),
]  # fmt: skip


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
@pytest.mark.parametrize(
    ("offered", "certificate", "alert", "reason", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_the_partner_gets_the_alert_and_the_operator_a_line_in_words(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    offered: list[str],
    certificate: Pair | None,
    alert: str,
    reason: str,
    words: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="as2bus.inbound")
    sut = inbound(requiring(partnership(), ACME_CA.cert_pem))
    before = failures(reason)
    presented = client_files(tmp_path, certificate) if certificate else []
    async with serving(sut, endpoint_tls(tmp_path)) as served:
        seen = await partner_sees(served.port, tmp_path, *offered, *presented)
    assert alert in seen, seen[-600:]
    assert "HTTP/1.1" not in seen
    (line,) = lines(caplog)
    assert re.fullmatch(r"TLS handshake from 127\.0\.0\.1:\d+ failed: (.*)", line), line
    assert line.split(" failed: ", 1)[1] == words
    assert failures(reason) == before + 1


def failing_handshake(port: int, context: ssl.SSLContext, source: str = "127.0.0.1") -> str:
    """One handshake from ``source``: the reason of the alert the client received."""
    with socket.create_connection(("127.0.0.1", port), 5, source_address=(source, 0)) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.recv(1)  # TLS 1.3: the server judges our certificate after our Finished
        except ssl.SSLError as err:
            return str(err.reason)
    return "no alert"


async def test_a_flood_of_failures_from_one_address_gives_one_line_and_counts_every_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="as2bus.inbound")
    clock = Clock()
    sut = inbound(requiring(partnership(), ACME_CA.cert_pem))
    expired = client_context(SERVER_CA, EXPIRED)
    before = failures("certificate-expired")
    async with serving(sut, endpoint_tls(tmp_path, clock)) as served:

        def flood(count: int, source: str = "127.0.0.1") -> set[str]:
            return {failing_handshake(served.port, expired, source) for _ in range(count)}

        assert await asyncio.to_thread(flood, 200) == {"SSLV3_ALERT_CERTIFICATE_EXPIRED"}
        assert len(lines(caplog)) == 1
        await asyncio.to_thread(flood, 1, "127.0.0.2")  # another address: a line of its own
        assert len(lines(caplog)) == 2
        clock.now += 61  # a minute later, the next failure says how many were held back
        await asyncio.to_thread(flood, 1)
    first, other, later = lines(caplog)
    assert first.startswith("TLS handshake from 127.0.0.1:")
    assert other.startswith("TLS handshake from 127.0.0.2:")
    assert later.endswith(
        "has expired (CN=acme-as2, expired "
        f"{expiry(EXPIRED)}) (and 199 more like it from this address since the last line)"
    )
    assert failures("certificate-expired") == before + 202


async def test_what_else_fails_is_said_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="as2bus.inbound")
    distrustful = ssl.create_default_context(cadata=STRANGER_CA.cert_pem.decode())
    distrustful.maximum_version = ssl.TLSVersion.TLSv1_2  # its verdict then ends our handshake
    async with serving(inbound(partnership()), endpoint_tls(tmp_path)) as served:
        verdict = await asyncio.to_thread(failing_handshake, served.port, distrustful)
        assert verdict == "CERTIFICATE_VERIFY_FAILED"

        def plain_http() -> bytes:
            with socket.create_connection(("127.0.0.1", served.port), 5) as raw:
                raw.sendall(b"GET /as2 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return raw.recv(100)

        await asyncio.to_thread(plain_http)
        await until(lambda: len(lines(caplog)) == 2, what="two lines", timeout=5)
    refused_ours, http = (line.split(" failed: ", 1)[1] for line in lines(caplog))
    assert refused_ours == "the client refused our certificate (unknown ca)"
    assert http == "the client spoke plain HTTP to the HTTPS port"


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"]
)
async def test_a_good_handshake_or_a_probe_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, version: ssl.TLSVersion
) -> None:
    caplog.set_level(logging.DEBUG)
    sut = inbound(requiring(partnership(), ACME_CA.cert_pem))
    before = all_failures()

    def get(port: int, certificate: Pair | None) -> bytes:
        context = client_context(SERVER_CA, certificate)
        context.minimum_version = context.maximum_version = version
        with (
            socket.create_connection(("127.0.0.1", port), 5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"GET /as2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return tls.recv(100)

    async with serving(sut, endpoint_tls(tmp_path)) as served:
        socket.create_connection(("127.0.0.1", served.port), 5).close()  # a probe: no handshake
        for certificate in (ACME_CA.issue_client("acme-as2"), None):
            answer = await asyncio.to_thread(get, served.port, certificate)
            assert answer.startswith(b"HTTP/1.1 405"), answer
    assert lines(caplog) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert all_failures() == before
