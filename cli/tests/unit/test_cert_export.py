"""Writing certificates to files: which certificate (after a rotation), and paths that fail."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from as2bus.cli.client import CliState
from as2bus.cli.main import app

KEYSTORE = "5f0c7a52-7a3f-4d0e-9a57-3c1a1f6b1e01"
CERT_ID = "0b5f2b32-8ad8-4d58-9d8f-7cf4a4b1f0d4"
OLD_PEM = "-----BEGIN CERTIFICATE-----\nOLD\n-----END CERTIFICATE-----\n"
NEW_PEM = "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n"


def certificate(pem: str, state: str, activation: str, fingerprint: str) -> dict[str, Any]:
    users = {"stations": [], "partners": [], "partnerships": ["MYCO:amazon"]}
    return {"id": CERT_ID, "alias": "myco@amazon", "kind": "own", "state": state,
            "days_left": 700, "not_after": "2028-06-01T00:00:00Z", "retirement_at": None,
            "activation_at": activation, "fingerprint_sha256": fingerprint, "cert_pem": pem,
            "used_by": users}  # fmt: skip


class FakeCertSvc:
    """cert-svc's keystore routes for one keystore, MYCO:amazon, rotated or not."""

    def __init__(self) -> None:
        self.own = [certificate(OLD_PEM, "active", "2026-06-01T12:00:00Z", "1F:15")]
        self.keystore: dict[str, Any] = {
            "id": KEYSTORE, "station_as2_id": "MYCO", "partner_as2_id": "amazon",
            "private_key_alias": "myco@amazon", "partner_cert_alias": "amazon",
            "created_at": "2026-06-01T12:00:00Z", "own_certificates": self.own,
            "partner_certificates": [],
        }  # fmt: skip

    def rotated(self, state: str = "pending", activation: str = "2027-01-15T00:00:00Z") -> None:
        self.own[0]["retirement_at"] = "2027-01-22T00:00:00Z"
        self.own.append(certificate(NEW_PEM, state, activation, "A5:2A"))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if path == "/keystores":
            return httpx.Response(200, json=[self.keystore])
        if path in (f"/keystores/{KEYSTORE}", f"/keystores/{KEYSTORE}/rotate"):
            return httpx.Response(200, json=self.keystore)
        if path == f"/keystores/{KEYSTORE}/certificate.cer":
            state = "pending" if request.url.params.get("which") == "next" else "active"
            pem = [c for c in self.own if c["state"] == state][-1]["cert_pem"]
            return httpx.Response(200, text=pem)
        if path == "/certificates":
            return httpx.Response(200, json=self.own)
        if path == f"/certificates/{CERT_ID}/certificate.pem":
            return httpx.Response(200, text=NEW_PEM)
        return httpx.Response(404, json={"detail": f"no route {path}"})


@pytest.fixture(scope="module")
def real_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())  # quick to make; only its encoding matters
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MYCO")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def cert_svc() -> FakeCertSvc:
    return FakeCertSvc()


def run(cert_svc: FakeCertSvc, *args: str) -> Any:
    state = CliState(transport=httpx.MockTransport(cert_svc))
    return CliRunner().invoke(app, ["--token", "t", *args], obj=state)


EXPORT = ["cert", "export", "--keystore", "MYCO:amazon", "--what", "public"]


def test_after_a_rotation_the_suggested_command_writes_the_new_certificate(
    cert_svc: FakeCertSvc,
) -> None:
    cert_svc.rotated()
    rotated = run(
        cert_svc, "keystore", "rotate", "MYCO:amazon", "--activate-at", "2027-01-15T00:00Z"
    )
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.splitlines()[-2:] == [
        "Send the partner our new certificate before it takes over at 2027-01-15 00:00 UTC:",
        "  as2bus cert export --keystore MYCO:amazon --what public --pending -o FILE",
    ]

    result = run(cert_svc, *EXPORT, "--pending", "-o", "new.cer")
    assert result.exit_code == 0, result.output
    assert Path("new.cer").read_text() == NEW_PEM
    assert result.stdout.splitlines() == [
        f"wrote new.cer ({len(NEW_PEM)} bytes)",
        "  our new certificate, in use from 2027-01-15 00:00 UTC: send it to the partner before "
        "then",
        "  fingerprint (SHA-256) A5:2A",
    ]


def test_the_certificate_in_use_says_so_while_a_new_one_waits(cert_svc: FakeCertSvc) -> None:
    plain = run(cert_svc, *EXPORT, "-o", "before.cer")
    assert plain.stdout == f"wrote before.cer ({len(OLD_PEM)} bytes)\n"  # nothing to tell apart

    cert_svc.rotated()
    result = run(cert_svc, *EXPORT, "-o", "myco.cer")
    assert result.exit_code == 0, result.output
    assert Path("myco.cer").read_text() == OLD_PEM
    assert result.stdout.splitlines()[1:] == [
        "  our certificate in use now (since 2026-06-01 12:00 UTC), not the new one",
        "  fingerprint (SHA-256) 1F:15",
        "  the new one takes over at 2027-01-15 00:00 UTC: export it with --pending and send it "
        "to the partner before then",
    ]


def test_a_rotation_active_at_once_points_at_the_certificate_in_use(cert_svc: FakeCertSvc) -> None:
    cert_svc.rotated(state="active", activation="2026-07-01T00:00:00Z")
    rotated = run(cert_svc, "keystore", "rotate", "MYCO:amazon")
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.splitlines()[-2:] == [
        "Send the partner our new certificate, in use now:",
        "  as2bus cert export --keystore MYCO:amazon --what public -o FILE",
    ]


def test_pending_goes_with_the_public_certificate_only(cert_svc: FakeCertSvc) -> None:
    result = run(cert_svc, "cert", "export", "--keystore", "MYCO:amazon", "--pending", "-o", "x")
    assert result.exit_code == 1
    assert result.stderr == "error: --pending goes with --what public (our new certificate)\n"


def test_an_output_path_that_cannot_be_written_is_one_sentence(
    cert_svc: FakeCertSvc, tmp_path: Path
) -> None:
    (tmp_path / "received").mkdir()  # the tests run in tmp_path (conftest)
    said = {
        (*EXPORT, "-o", "nonexistent/dir/x.cer"): (
            "error: cannot write nonexistent/dir/x.cer: No such file or directory\n"
        ),
        (*EXPORT, "-o", "received", "--force"): (
            "error: received is a folder: give a file name, e.g. received/certificate.cer\n"
        ),
        ("cert", "pem", CERT_ID, "-o", "nonexistent/a.pem"): (
            "error: cannot write nonexistent/a.pem: No such file or directory\n"
        ),
    }
    for args, sentence in said.items():
        result = run(cert_svc, *args)
        assert result.exit_code == 1, result.output
        assert result.stderr == sentence


def test_cert_pem_overwrites_a_file_only_with_force(cert_svc: FakeCertSvc) -> None:
    Path("a.pem").write_text("keep me")
    refused = run(cert_svc, "cert", "pem", CERT_ID, "-o", "a.pem")
    assert refused.exit_code == 1
    assert refused.stderr == "error: a.pem exists; use --force to overwrite it\n"
    assert Path("a.pem").read_text() == "keep me"
    forced = run(cert_svc, "cert", "pem", CERT_ID, "-o", "a.pem", "--force")
    assert forced.exit_code == 0, forced.output
    assert Path("a.pem").read_text() == NEW_PEM


def test_inbox_into_a_file_says_it_is_not_a_folder() -> None:
    Path("README.md").write_text("a file")
    result = CliRunner().invoke(app, ["inbox", "--follow", "README.md", "--nats-url", "nats://x"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: README.md is not a folder: give the folder to save documents into\n"
    )


def test_inbox_takes_its_folder_as_the_argument_or_with_follow() -> None:
    """'inbox DIR --once' was a usage error ("Missing option '--follow'")."""
    Path("README.md").write_text("a file")
    as_argument = CliRunner().invoke(
        app, ["inbox", "README.md", "--once", "--nats-url", "nats://x"]
    )
    assert as_argument.exit_code == 1
    assert as_argument.stderr == (
        "error: README.md is not a folder: give the folder to save documents into\n"
    )
    nothing = CliRunner().invoke(app, ["inbox", "--once"])
    assert nothing.exit_code == 1
    assert nothing.stderr == (
        "error: give the folder to save documents into: as2bus inbox FOLDER "
        "(e.g. as2bus inbox ./received --once)\n"
    )
    two = CliRunner().invoke(app, ["inbox", "a", "--follow", "b"])
    assert (
        two.stderr == "error: two folders given (a and --follow b): give one, as2bus inbox FOLDER\n"
    )


def test_the_list_shows_when_each_takes_over_and_no_days_left_for_a_retired_one(
    cert_svc: FakeCertSvc,
) -> None:
    cert_svc.rotated()
    cert_svc.own[0]["state"] = "retired"
    listed = run(cert_svc, "cert", "list")
    assert listed.exit_code == 0, listed.output
    header, old, new = listed.stdout.splitlines()
    assert header.split()[:9] == ["ALIAS", "KIND", "STATE", "IN", "USE", "FROM", "RETIRES",
                                  "DAYS", "LEFT"]  # fmt: skip
    assert old.split()[:8] == ["myco@amazon", "own", "retired", "2026-06-01", "12:00",
                               "2027-01-22", "00:00", "-"]  # fmt: skip
    assert new.split()[:6] == ["myco@amazon", "own", "pending", "2027-01-15", "00:00", "700"]


def test_our_certificate_in_der_for_tools_that_read_binary(
    cert_svc: FakeCertSvc, real_pem: str
) -> None:
    """--what public writes PEM (a base64 .cer); --der, or a file named .der, writes DER."""
    cert_svc.own[0]["cert_pem"] = real_pem
    der = ssl.PEM_cert_to_DER_cert(real_pem)
    asked = run(cert_svc, *EXPORT, "--der", "-o", "myco.cer")
    assert asked.stdout == f"wrote myco.cer ({len(der)} bytes, DER)\n"
    by_name = run(cert_svc, *EXPORT, "-o", "myco.der")
    assert by_name.exit_code == 0, by_name.output
    assert Path("myco.cer").read_bytes() == Path("myco.der").read_bytes() == der
    assert run(cert_svc, *EXPORT, "-o", "myco.pem").exit_code == 0
    assert Path("myco.pem").read_text() == real_pem
    refused = run(cert_svc, "cert", "export", "--keystore", "MYCO:amazon", "--der", "-o", "k.p12")
    assert refused.stderr == "error: --der goes with --what public (a .p12 file is always binary)\n"
