"""The CLI against a real config-svc process on real NATS JetStream: a whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from as2bus.cli.main import app
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import PrivateCa

TOKEN = "cli-integration-token-0123456789"
SECRET = "hunter2-cli-secret-Zq8"


@pytest.fixture
def config_svc(nats_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/config.db",
        "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": generate_master_key(),
    }
    service = ServiceProcess("as2bus.config", env=env, log_path=tmp_path / "config.log").start()
    yield service
    service.stop()


class Cli:
    """Runs ``as2bus`` in-process against the service, keeping every output."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.outputs: list[str] = []

    def __call__(self, *args: str, ok: bool = True, token: str = TOKEN) -> Any:
        root = ["--config-url", self.url, "--token", token]
        result = CliRunner().invoke(app, [*root, *args])
        self.outputs.append(result.output)
        assert "Traceback" not in result.output
        if ok:
            assert result.exit_code == 0, result.output
        else:
            assert result.exit_code == 1, result.output
        return result


def value(stdout: str, key: str) -> str:
    for line in stdout.splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            return rest.strip()
    raise AssertionError(f"no {key!r} in:\n{stdout}")


def test_a_whole_configuration_session(config_svc: ServiceProcess) -> None:
    cli = Cli(config_svc.base_url)

    station = cli("station", "create", "--as2-id", "MYCO", "--name", "My Co",
                  "--accept-signing", "sha256", "--accept-signing", "SHA-512")  # fmt: skip
    assert value(station.stdout, "accepted_signing_algs") == "sha256, sha512"
    partner = cli("partner", "create", "--as2-id", "amazon", "--name", "Amazon",
                  "--url", "https://as2.example.com/as2", "--encryption", "AES-128",
                  "--auth", "basic", "--username", "acme", "--password", SECRET)  # fmt: skip
    assert value(partner.stdout, "http_auth.password_set") == "yes"
    assert value(partner.stdout, "encryption_alg") == "aes128-cbc"
    link = cli("partnership", "create", "--station", "MYCO", "--partner", "amazon")
    assert value(link.stdout, "partner_as2_id") == "amazon"

    # lists and shows
    partners = cli("partner", "list").stdout.splitlines()
    row = ["amazon", "Amazon", "https://as2.example.com/as2", "yes", "aes128-cbc", "sha256"]
    assert partners[1].split()[:6] == row
    assert cli("station", "list").stdout.splitlines()[1].startswith("MYCO")
    links = cli("partnership", "list", "--station", "MYCO").stdout.splitlines()
    assert links[1].split()[:3] == ["MYCO", "amazon", "yes"]
    shown = cli("partnership", "show", "MYCO:amazon")
    assert value(shown.stdout, "id") == value(link.stdout, "id")
    assert value(cli("partner", "show", value(partner.stdout, "id")).stdout, "as2_id") == "amazon"

    # updates
    updated = cli("partner", "update", "amazon", "--rate-limit", "5", "--max-concurrency", "3")
    assert value(updated.stdout, "rate_limit_per_second") == "5.0"
    assert value(updated.stdout, "http_auth.password_set") == "yes"  # kept
    assert (
        value(cli("station", "update", "MYCO", "--name", "My Company").stdout, "name")
        == "My Company"
    )

    # refusals read well
    bad = cli("partner", "create", "--as2-id", "x", "--name", "X", "--url", "not a url", ok=False)
    assert bad.stderr.startswith("error: as2_url: ")
    dup = cli("station", "create", "--as2-id", "MYCO", "--name", "Again", ok=False)
    assert dup.stderr == "error: as2_id: a station with AS2 ID 'MYCO' already exists\n"
    cli("partner", "create", "--as2-id", "acme", "--name", "Acme", "--url", "https://acme.test/as2")
    assert cli("partner", "disable", "acme").stdout == "partner acme disabled\n"
    refused = cli("partnership", "create", "--station", "MYCO", "--partner", "acme", ok=False)
    assert refused.stderr == "error: partner_id: partner 'acme' is disabled; enable it first\n"
    in_use = cli("station", "delete", "MYCO", "--yes", ok=False)
    assert in_use.stderr == (
        "error: station 'MYCO' is used by 1 partnership(s) (MYCO:amazon): delete it first: "
        "as2bus partnership delete MYCO:amazon\n"
    )
    twin = cli("partner", "create", "--as2-id", "AMAZON", "--name", "Amazon (typo)",
               "--url", "https://as2.example.com/as2", ok=False)  # fmt: skip
    assert twin.stderr == (
        "error: a partner 'amazon' exists; AS2 IDs that differ only in case are refused: "
        "partners' products often compare them without case\n"
    )
    wrong_token = cli("station", "list", token="wrong", ok=False)
    assert wrong_token.stderr.startswith("error: the API token was refused")
    assert "no station with AS2 ID" in cli("station", "show", "NOPE", ok=False).stderr

    # deletes
    cli("partnership", "delete", "MYCO:amazon", "--yes")
    cli("partner", "delete", "amazon", "--yes")
    cli("partner", "delete", "acme", "--yes")
    cli("station", "delete", "MYCO", "--yes")
    assert cli("station", "list").stdout.startswith("No stations yet")
    assert cli("--json", "partner", "list").stdout.strip() == "[]"

    assert all(SECRET not in output for output in cli.outputs)
    assert SECRET not in config_svc.log()


def test_a_partners_tls_settings_from_the_cli(config_svc: ServiceProcess, tmp_path: Path) -> None:
    cli = Cli(config_svc.base_url)
    ca = PrivateCa("amazon private CA")
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem)
    pin = ":".join(["AB"] * 32)
    made = cli("partner", "create", "--as2-id", "amazon", "--name", "Amazon",
               "--url", "https://as2.example.com/as2", "--tls-ca-file", str(tmp_path / "ca.pem"),
               "--tls-pin", pin, "--tls-min-version", "1.3")  # fmt: skip
    until = ca.cert.not_valid_after_utc.strftime("%Y-%m-%d")
    assert value(made.stdout, "tls.ca_bundle_pem") == f"CN=amazon private CA, until {until}"
    assert value(made.stdout, "tls.pinned_sha256") == "ab" * 32  # as config-svc stores it
    assert value(made.stdout, "tls.min_version") == "1.3"

    changed = cli("partner", "update", "amazon", "--tls-no-verify", "--proxy", "http://proxy:3128")
    assert changed.stderr.startswith("warning: the partner's server certificate will not be")
    shown = cli("partner", "show", "amazon").stdout
    assert (value(shown, "tls.verify"), value(shown, "tls.proxy_url")) == (
        "no",
        "http://proxy:3128",
    )
    assert value(shown, "tls.ca_bundle_pem").startswith("CN=amazon private CA")  # kept

    bad = cli("partner", "update", "amazon", "--tls-pin", "nope", "--proxy", "ftp://x", ok=False)
    assert bad.stderr.splitlines() == [
        "error: tls.pinned_sha256 (value 1): must be a SHA-256 in hex: 64 hexadecimal digits "
        "(colons allowed), of the certificate or of its public key (as2bus partner pin --from-url "
        "prints both)",
        "error: tls.proxy_url: must be an http:// or https:// URL with a host, e.g. "
        "http://proxy:3128",
    ]
