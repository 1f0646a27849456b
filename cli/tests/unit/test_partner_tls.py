"""``as2bus partner create|update`` with TLS options, ``partner show`` of TLS settings, and
``partner pin`` against a real TLS server (certificates of the shared test CA)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from as2bus.cli.partner_tls import NO_VERIFY_WARNING
from as2bus.testing.tls import PrivateCa, certificate_sha256, public_key_sha256, write_pair

from .conftest import value

Run = Callable[..., Any]
CA = PrivateCa("partner TLS CA")
PARTNER = ("--as2-id", "amazon", "--name", "Amazon", "--url", "https://a.test/")
PIN = "ab" * 32


def pem_file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_create_sends_every_tls_option_and_warns_when_verification_is_off(
    run: Run, api: Any, tmp_path: Path
) -> None:
    _, client_cert = CA.issue_client("amazon-client")
    clients = pem_file(tmp_path, "client.pem", client_cert)
    result = run("partner", "create", *PARTNER,
                 "--tls-ca-file", pem_file(tmp_path, "ca.pem", CA.cert_pem),
                 "--tls-pin", PIN, "--tls-pin", "CD" * 32, "--tls-client-certificate",
                 "--tls-min-version", "1.3", "--tls-no-verify", "--proxy", "http://proxy:3128",
                 "--follow-redirects", "--require-client-certificate",
                 "--client-certificates-file", clients)  # fmt: skip
    assert result.exit_code == 0, result.output
    (body,) = api.bodies("POST")
    assert body["tls"] == {
        "ca_bundle_pem": CA.cert_pem.decode(), "pinned_sha256": [PIN, "CD" * 32],
        "client_certificate": True, "min_version": "1.3", "verify": False,
        "proxy_url": "http://proxy:3128", "follow_redirects": True,
        "require_client_certificate": True, "client_certificates_pem": client_cert.decode(),
    }  # fmt: skip
    assert result.stderr == NO_VERIFY_WARNING + "\n"


def test_create_without_tls_options_leaves_the_defaults_to_the_service(run: Run, api: Any) -> None:
    assert run("partner", "create", *PARTNER).exit_code == 0
    assert "tls" not in api.bodies("POST")[0]


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        (["--tls-verify"], {"verify": True}),
        (["--no-proxy"], {"proxy_url": None}),
        (["--no-tls-pins"], {"pinned_sha256": []}),
        (["--no-tls-ca"], {"ca_bundle_pem": None}),
        (["--no-client-certificates"], {"client_certificates_pem": None}),
        (["--no-follow-redirects", "--no-require-client-certificate"],
         {"follow_redirects": False, "require_client_certificate": False}),
    ],
)  # fmt: skip
def test_update_sends_only_the_tls_settings_named(
    run: Run, api: Any, options: list[str], sent: dict[str, Any]
) -> None:
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/")
    result = run("partner", "update", "amazon", *options)
    assert result.exit_code == 0, result.output
    assert api.bodies("PATCH") == [{"tls": sent}]
    assert result.stderr == ""


def test_a_pem_file_with_a_private_key_is_refused_before_anything_is_sent(
    run: Run, api: Any, tmp_path: Path
) -> None:
    key, cert = CA.issue()
    path = pem_file(tmp_path, "both.pem", key + cert)
    for option in ("--tls-ca-file", "--client-certificates-file"):
        result = run("partner", "create", *PARTNER, option, path)
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {path} holds a private key, which must never leave its owner: give a "
            "file with the certificate(s) only\n"
        )
        assert key.decode().splitlines()[1] not in result.output
    assert api.requests == []


def test_a_setting_and_its_removal_together_are_refused(run: Run, api: Any) -> None:
    result = run("partner", "create", *PARTNER, "--proxy", "http://p:1", "--no-proxy")
    assert result.exit_code == 1
    assert result.stderr == "error: give --proxy or --no-proxy, not both\n"


def test_show_names_the_certificates_not_their_pem(run: Run, api: Any) -> None:
    _, server = CA.issue(host="as2.amazon.test", expired=True)
    pem = (CA.cert_pem + server).decode()
    api.add("partners", as2_id="amazon", name="Amazon", as2_url="https://a.test/",
            tls={"ca_bundle_pem": pem, "pinned_sha256": [PIN], "verify": False,
                 "client_certificates_pem": None})  # fmt: skip
    shown = run("partner", "show", "amazon").stdout
    until = CA.cert.not_valid_after_utc.strftime("%Y-%m-%d")
    assert value(shown, "tls.ca_bundle_pem") == (
        f"CN=partner TLS CA, until {until}; CN=as2.amazon.test, expired {server_expiry(server)}"
    )
    assert "BEGIN CERTIFICATE" not in shown
    assert (value(shown, "tls.pinned_sha256"), value(shown, "tls.verify")) == (PIN, "no")
    assert value(shown, "tls.client_certificates_pem") == "-"
    assert "BEGIN CERTIFICATE" in run("--json", "partner", "show", "amazon").stdout


def server_expiry(pem: bytes) -> str:
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc.strftime("%Y-%m-%d")


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A real TLS server on a free port, with a certificate of the test CA: (URL, its PEM)."""
    pair = CA.issue(host="127.0.0.1")
    key_file, cert_file = write_pair(tmp_path, "server", pair)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)  # until the client hangs up
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", pair[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_pin_prints_both_pins_of_a_servers_certificate(
    run: Run, tls_server: tuple[str, bytes]
) -> None:
    url, cert = tls_server
    result = run("partner", "pin", "--from-url", url)
    assert result.exit_code == 0, result.output
    assert value(result.stdout, "certificate pin") == certificate_sha256(cert)
    assert value(result.stdout, "public-key pin").split()[0] == public_key_sha256(cert)
    assert value(result.stdout, "certificate").startswith("CN=127.0.0.1, until ")
    assert "Fetched without verification" in result.stderr


def test_pin_reads_a_pem_file_too(run: Run, tmp_path: Path) -> None:
    _, cert = CA.issue(host="as2.amazon.test")
    result = run("partner", "pin", "--from-file", pem_file(tmp_path, "c.pem", cert + CA.cert_pem))
    assert result.exit_code == 0, result.output
    first, second = result.stdout.split("\n\n")
    assert value(first, "certificate pin") == certificate_sha256(cert)
    assert value(second, "certificate pin") == certificate_sha256(CA.cert_pem)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from-url", "http://a.test/"], "is not an https:// URL with a host"),
        (["--from-url", "https://127.0.0.1:1"], "no TLS connection to 127.0.0.1:1"),
        ([], "give --from-url or --from-file"),
    ],
)
def test_pin_says_what_is_wrong(run: Run, args: list[str], says: str) -> None:
    result = run("partner", "pin", *args)
    assert result.exit_code == 1
    assert says in result.stderr
