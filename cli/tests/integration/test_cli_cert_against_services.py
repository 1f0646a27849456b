"""The cert and keystore commands against real config-svc and cert-svc processes."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import load_der_x509_certificate, load_pem_x509_certificate
from typer.testing import CliRunner

from as2bus.cert import x509
from as2bus.cli import demo
from as2bus.cli.main import app
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.services import ServiceProcess

TOKEN = "cli-cert-token-0123456789"
KEYSTORE_PASSWORD = "keystore-Pw-7711x"


@pytest.fixture
def services(nats_url: str, tmp_path: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    key = generate_master_key()

    def env(name: str) -> dict[str, str]:
        return {
            "AS2BUS_NATS_URL": nats_url,
            "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/{name}.db",
            "AS2BUS_API_TOKEN": TOKEN,
            "AS2BUS_MASTER_KEY": key,
        }

    config = ServiceProcess("as2bus.config", env("config"), tmp_path / "config.log").start()
    cert = ServiceProcess("as2bus.cert", env("cert"), tmp_path / "cert.log").start()
    yield config, cert
    cert.stop()
    config.stop()


def test_a_partnership_keystore_and_rotations_through_the_cli(
    services: tuple[ServiceProcess, ServiceProcess], tmp_path: Path
) -> None:
    config, cert = services
    outputs: list[str] = []

    def cli(*args: str, ok: bool = True) -> Any:
        root = ["--config-url", config.base_url, "--cert-url", cert.base_url, "--token", TOKEN]
        result = CliRunner().invoke(app, [*root, *args])
        outputs.append(result.output)
        assert "Traceback" not in result.output
        assert result.exit_code == (0 if ok else 1), result.output
        return result

    cli("station", "create", "--as2-id", "MYCO", "--name", "My Co")
    cli(
        "partner",
        "create",
        "--as2-id",
        "acme",
        "--name",
        "Acme",
        "--url",
        "https://acme.example/as2",
    )
    cli("partnership", "create", "--station", "MYCO", "--partner", "acme")
    for _ in range(50):  # cert-svc learns about the partnership over the bus
        result = CliRunner().invoke(
            app,
            [
                "--config-url",
                config.base_url,
                "--cert-url",
                cert.base_url,
                "--token",
                TOKEN,
                "keystore",
                "create",
                "--station",
                "MYCO",
                "--partner",
                "acme",
                "--password",
                KEYSTORE_PASSWORD,
            ],
        )
        if result.exit_code == 0:
            outputs.append(result.output)
            break
        time.sleep(0.1)  # a retry loop: the next try once cert-svc may know the partnership
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        "Next:\n"
        "  upload the partner's certificate: as2bus cert upload-partner FILE --alias acme\n"
        "  send the partner our certificate: as2bus cert export --keystore MYCO:acme --what "
        "public -o FILE\n"
    )

    partner_pem = tmp_path / "acme.cer"
    partner_pem.write_text(x509.generate_self_signed("acme", now=datetime.now(UTC)).cert.cert_pem)
    cli("cert", "upload-partner", str(partner_pem), "--alias", "acme")
    listed = json.loads(cli("--json", "cert", "list").output)
    assert {(c["alias"], c["kind"], c["state"]) for c in listed} == {
        ("myco@acme", "own", "active"),  # the partnership's own key
        ("acme", "partner", "active"),
    }

    exported = tmp_path / "ks.p12"
    cli("cert", "export", "--keystore", "MYCO:acme", "-o", str(exported))
    assert exported.stat().st_mode & 0o777 == 0o600
    info = subprocess.run(
        [
            "openssl",
            "pkcs12",
            "-in",
            str(exported),
            "-info",
            "-nokeys",
            "-passin",
            f"pass:{KEYSTORE_PASSWORD}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "friendlyName: myco@acme" in info.stdout
    refused = cli("cert", "export", "--keystore", "MYCO:acme", "-o", str(exported), ok=False)
    assert "--force" in refused.output

    rotated = cli("keystore", "rotate", "MYCO:acme")
    assert "as2bus cert export --keystore MYCO:acme --what public" in rotated.output
    # A switch in the past would retire the key just replaced at once: refused, in a sentence.
    past = cli("keystore", "rotate", "MYCO:acme", "--activate-at", "2020-01-10T09:30:00Z",
               ok=False)  # fmt: skip
    assert past.output == (
        "error: the switch time 2020-01-10T09:30:00+00:00 has passed, and a rotation cannot "
        "start in the past (the previous certificate would retire early): give a time from now "
        "on, or none to switch now\n"
    )
    own = json.loads(cli("--json", "cert", "list", "--alias", "myco@acme").output)
    assert len(own) == 2
    assert sum(1 for c in own if c["retirement_at"]) == 1  # the old key overlaps, then retires

    pem = cli("cert", "pem", own[0]["id"]).output
    assert pem.startswith("-----BEGIN CERTIFICATE-----")

    # A rotation that takes over later: the command it suggests writes the new certificate.
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat(timespec="seconds")
    waits = cli("keystore", "rotate", "MYCO:acme", "--activate-at", later)
    suggested = "as2bus cert export --keystore MYCO:acme --what public --pending -o FILE"
    assert suggested in waits.output
    new_cer = tmp_path / "new.cer"
    cli(*suggested.split()[1:-1], str(new_cer))
    own = json.loads(cli("--json", "cert", "list", "--alias", "myco@acme").output)
    [waiting] = [c for c in own if c["state"] == "pending"]
    assert new_cer.read_text().strip() == waiting["cert_pem"].strip()
    in_use = cli("cert", "export", "--keystore", "MYCO:acme", "--what", "public", "-o",
                 str(tmp_path / "now.cer"))  # fmt: skip
    assert "not the new one" in in_use.output
    assert (tmp_path / "now.cer").read_text() != new_cer.read_text()
    bad = cli("cert", "upload-partner", str(exported), "--alias", "acme", ok=False)
    assert bad.output == (
        "error: ks.p12 is a PKCS#12 keystore holding a private key: to upload one of its "
        "partner certificates, give the file's password and the entry's name (as2bus cert "
        "upload-partner ks.p12 --alias ALIAS --entry NAME --password ...), or take it out with "
        "'keytool -exportcert -rfc -keystore ks.p12 -storetype PKCS12 -alias NAME -file "
        "partner.pem'\n"
    )

    # Each refusal is one sentence saying what to do: no dict dump, no parser internals.
    cli("station", "create", "--as2-id", "OTHER", "--name", "Other")
    lonely = cli("keystore", "create", "--station", "OTHER", "--partner", "acme",
                 "--password", KEYSTORE_PASSWORD, ok=False)  # fmt: skip
    assert lonely.output.splitlines()[-1] == (
        "error: station OTHER and partner acme have no partnership, and a keystore belongs to "
        "a partnership: create it first (as2bus partnership create --station OTHER --partner "
        "acme)"
    ), lonely.output
    short = cli("keystore", "create", "--station", "MYCO", "--partner", "acme",
                "--password", "short", ok=False)  # fmt: skip
    assert short.output.strip().splitlines()[-1] == (
        "error: the export password must be at least 8 characters long (and at most 256)"
    ), short.output
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("hello, this is not a certificate\n")
    junk = cli("cert", "upload-partner", str(not_pem), "--alias", "acme", ok=False)
    assert "notes.txt is not a certificate: expected a PEM or DER" in junk.output
    assert "{" not in junk.output, junk.output
    assert len(junk.output.strip().splitlines()) == 1, junk.output

    everything = "".join(outputs) + config.log() + cert.log()
    assert KEYSTORE_PASSWORD not in everything


def test_a_certificate_uploaded_under_the_wrong_alias_is_said_so_and_deleted(
    services: tuple[ServiceProcess, ServiceProcess], tmp_path: Path
) -> None:
    config, cert = services

    def cli(*args: str, ok: bool = True, input: str | None = None) -> Any:
        root = ["--config-url", config.base_url, "--cert-url", cert.base_url, "--token", TOKEN]
        result = CliRunner().invoke(app, [*root, *args], input=input)
        assert "Traceback" not in result.output
        assert result.exit_code == (0 if ok else 1), result.output
        return result

    cli("partner", "create", "--as2-id", "ACMERETAIL", "--name", "Acme",
        "--url", "https://acme.example/as2")  # fmt: skip
    pem = tmp_path / "acme.cer"
    for attempt in range(50):  # cert-svc learns of the partner over the bus
        pem.write_text(x509.generate_self_signed(f"acme-{attempt}", now=datetime.now(UTC))
                       .cert.cert_pem)  # fmt: skip
        typo = cli("--json", "cert", "upload-partner", str(pem), "--alias", "ACMERETAIL")
        view = json.loads(typo.stdout)
        if "partner ACMERETAIL's" in " ".join(view["warnings"]):
            break
        cli("cert", "delete", "--alias", "ACMERETAIL", "--yes")  # an upload cert-svc judged early
        time.sleep(0.1)
    short = view["fingerprint_sha256"][:23]
    assert typo.stderr == (
        "warning: no partner uses the alias 'ACMERETAIL': partner ACMERETAIL's certificate "
        "alias is 'acmeretail'\n"
        f"  to remove it: as2bus cert delete --alias ACMERETAIL --fingerprint {short}\n"
    )
    kept = cli("cert", "delete", "--alias", "ACMERETAIL", input="n\n", ok=False)
    assert f"Delete the partner certificate {short} under the alias 'ACMERETAIL'?" in kept.output
    gone = cli("cert", "delete", "--alias", "ACMERETAIL", "--fingerprint", short.lower(),
               input="y\n")  # fmt: skip
    assert gone.stdout.endswith(
        f"deleted the partner certificate {short} under the alias 'ACMERETAIL'\n"
    )
    assert json.loads(cli("--json", "cert", "list").stdout) == []
    right = cli("cert", "upload-partner", str(pem), "--alias", "acmeretail")
    assert "warning" not in right.stderr
    in_use = cli("cert", "delete", "--alias", "acmeretail", "--yes", ok=False)
    assert in_use.stderr == (
        "error: partner ACMERETAIL uses the alias 'acmeretail': a certificate in use is not "
        "deleted; upload its successor under the same alias (a rotation) instead\n"
    )
    missing = cli("cert", "delete", "--alias", "nobody", "--yes", ok=False)
    assert missing.stderr == (
        "error: no certificate under the alias 'nobody' (see: as2bus cert list)\n"
    )


def openas2_keystore(path: Path) -> None:
    """An OpenAS2-style as2_certs.p12 (password testas2): our key under mycompany, the
    partners' certificates under partnera and partnerb."""
    now = datetime.now(UTC)
    ours = x509.generate_self_signed("MyCompany", now=now)
    key = serialization.load_pem_private_key(ours.key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    partners = [
        pkcs12.PKCS12Certificate(
            load_pem_x509_certificate(x509.generate_self_signed(name, now=now).cert.cert_pem
                                      .encode()), name.encode())
        for name in ("partnera", "partnerb")
    ]  # fmt: skip
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"mycompany", key, load_pem_x509_certificate(ours.cert.cert_pem.encode()), partners,
        serialization.BestAvailableEncryption(b"testas2"),
    ))  # fmt: skip


def cli_against(config: ServiceProcess, cert: ServiceProcess) -> Any:
    """``as2bus`` against the two services: its result, checked for its exit code (0, or 1
    with ``ok=False``) and for no traceback."""

    def cli(*args: str, ok: bool = True) -> Any:
        root = ["--config-url", config.base_url, "--cert-url", cert.base_url, "--token", TOKEN]
        result = CliRunner().invoke(app, [*root, *args])
        assert "Traceback" not in result.output
        assert result.exit_code == (0 if ok else 1), result.output
        return result

    return cli


def openas2_setup(cli: Any, store: Path) -> None:
    """OpenAS2's keystore at ``store``, and its station, partners and partnerships."""
    openas2_keystore(store)
    cli("station", "create", "--as2-id", "MyCompany", "--name", "My Co",
        "--private-key-alias", "mycompany")  # fmt: skip
    for as2_id, alias in (("PartnerA", "partnera"), ("PARTNERB-PROD", "partnerb")):
        cli("partner", "create", "--as2-id", as2_id, "--name", as2_id, "--alias", alias,
            "--url", "https://partner.example/as2")  # fmt: skip
        cli("partnership", "create", "--station", "MyCompany", "--partner", as2_id)


def test_moving_from_openas2_keeps_our_key_and_takes_partners_by_entry(
    services: tuple[ServiceProcess, ServiceProcess], tmp_path: Path
) -> None:
    """The order docs/migrating.md gives, with OpenAS2's keystore and its short password."""
    config, cert = services
    cli = cli_against(config, cert)
    store = tmp_path / "as2_certs.p12"
    openas2_setup(cli, store)

    ours = cli("cert", "import", str(store), "--alias", "mycompany", "--password", "testas2")
    assert ours.stderr == (
        "warning: as2_certs.p12's certificate entries partnera, partnerb were not imported "
        "(only our key is): upload each partner's with as2bus cert upload-partner "
        "as2_certs.p12 --alias ALIAS --entry NAME --password ...\n"
    )
    for _ in range(50):  # cert-svc learns of the partners over the bus
        first = CliRunner().invoke(app, [
            "--config-url", config.base_url, "--cert-url", cert.base_url, "--token", TOKEN,
            "cert", "upload-partner", str(store), "--alias", "partnera", "--entry", "partnera",
            "--password", "testas2"])  # fmt: skip
        if first.exit_code == 0 and not first.stderr:
            break
        time.sleep(0.1)
    assert (first.exit_code, first.stderr) == (0, ""), first.output
    without_entry = cli("cert", "upload-partner", str(store), "--alias", "partnerb",
                        "--password", "testas2", ok=False)  # fmt: skip
    assert without_entry.stderr == (
        "error: as2_certs.p12 holds 2 certificate entries (partnera, partnerb): name the "
        "partner's (the console's entry field; as2bus: --entry NAME)\n"
    )
    cli("cert", "upload-partner", str(store), "--alias", "partnerb", "--entry", "partnerb",
        "--password", "testas2")  # fmt: skip

    shared = cli("--json", "keystore", "import", str(store), "--station", "MyCompany",
                 "--partner", "PartnerA", "--password", "testas2",
                 "--export-password", KEYSTORE_PASSWORD)  # fmt: skip
    assert json.loads(shared.stdout)["private_key_alias"] == "mycompany"  # the key imported first
    cli("keystore", "create", "--station", "MyCompany", "--partner", "PARTNERB-PROD",
        "--own-key", "existing", "--password", KEYSTORE_PASSWORD)  # fmt: skip
    own = json.loads(cli("--json", "cert", "list", "--kind", "own").stdout)
    assert [(c["alias"], c["used_by"]["partnerships"]) for c in own] == [
        ("mycompany", ["MyCompany:PARTNERB-PROD", "MyCompany:PartnerA"])
    ]

    cli("cert", "export", "--keystore", "MyCompany:PartnerA", "-o", str(tmp_path / "ks.p12"))
    exported = pkcs12.load_pkcs12((tmp_path / "ks.p12").read_bytes(), KEYSTORE_PASSWORD.encode())
    assert exported.cert is not None
    assert exported.cert.friendly_name == b"mycompany"
    assert [c.friendly_name for c in exported.additional_certs] == [b"partnera"]
    cli("cert", "export", "--keystore", "MyCompany:PartnerA", "--what", "public",
        "-o", str(tmp_path / "mycompany.der"))  # fmt: skip
    der = load_der_x509_certificate((tmp_path / "mycompany.der").read_bytes())
    assert der.fingerprint(hashes.SHA256()).hex(":").upper() == own[0]["fingerprint_sha256"]

    stray = cli("cert", "import", str(store), "--alias", "legacytest", "--password", "testas2")
    assert "warning: no station or keystore uses the key alias 'legacytest' yet" in stray.stderr
    assert "  to remove it: as2bus cert delete --alias legacytest --fingerprint" in stray.stderr
    gone = cli("cert", "delete", "--alias", "legacytest", "--yes")
    assert gone.stdout.startswith("deleted our key and certificate ")


def test_a_keystore_is_created_or_imported_with_its_partners_certificate_in_one_step(
    services: tuple[ServiceProcess, ServiceProcess], tmp_path: Path
) -> None:
    """``--partner-cert``: the keystore and the partner's certificate in one cert-svc call, both
    or neither, from an entry of OpenAS2's as2_certs.p12 or a PEM file (the console's Create
    Cert could; the CLI needed ``cert upload-partner`` first)."""
    config, cert = services
    cli = cli_against(config, cert)
    store = tmp_path / "as2_certs.p12"
    openas2_setup(cli, store)
    import_a = ("keystore", "import", str(store), "--station", "MyCompany", "--partner",
                "PartnerA", "--password", "testas2", "--export-password", KEYSTORE_PASSWORD,
                "--private-key-alias", "mycompany", "--partner-cert", str(store),
                "--partner-cert-password", "testas2")  # fmt: skip
    for _ in range(50):  # cert-svc learns of the partnerships over the bus
        refused = CliRunner().invoke(app, [
            "--config-url", config.base_url, "--cert-url", cert.base_url, "--token", TOKEN,
            *import_a])  # fmt: skip
        if "unknown" not in refused.output and "no partnership" not in refused.output:
            break
        time.sleep(0.1)
    # Without the entry: refused in a sentence naming the entries, and nothing stored.
    assert refused.exit_code == 1, refused.output
    assert "holds 2 certificate entries (partnera, partnerb)" in refused.stderr
    assert json.loads(cli("--json", "keystore", "list").stdout) == []

    made = json.loads(cli("--json", *import_a, "--partner-cert-entry", "partnera").stdout)
    assert made["private_key_alias"] == "mycompany"
    (theirs,) = made["partner_certificates"]
    assert (theirs["alias"], theirs["subject"]) == ("partnera", "CN=partnera")

    partner_b = pkcs12.load_pkcs12(store.read_bytes(), b"testas2").additional_certs[1]
    pem = tmp_path / "partnerb.pem"
    pem.write_bytes(partner_b.certificate.public_bytes(serialization.Encoding.PEM))
    created = json.loads(cli("--json", "keystore", "create", "--station", "MyCompany",
                             "--partner", "PARTNERB-PROD", "--own-key", "existing",
                             "--password", KEYSTORE_PASSWORD, "--partner-cert",
                             str(pem)).stdout)  # fmt: skip
    (theirs,) = created["partner_certificates"]
    assert (theirs["alias"], theirs["subject"]) == ("partnerb", "CN=partnerb")
    # An entry without the file is a usage mistake said in a sentence, before anything is asked.
    lone = CliRunner().invoke(app, ["--cert-url", cert.base_url, "--token", TOKEN, "keystore",
                                    "create", "--station", "MyCompany", "--partner", "PartnerA",
                                    "--password", KEYSTORE_PASSWORD, "--partner-cert-entry",
                                    "x"])  # fmt: skip
    assert lone.exit_code == 2
    assert "give the file with --partner-cert" in lone.output


def older_demo(config_url: str, cert_url: str) -> None:
    """The loopback demo as an older as2bus made it: each station with a bare key under its
    alias, each side's certificate the other's partner certificate, no keystores; and a
    partnership of the user's own beside it."""
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:

        def ok(response: httpx.Response) -> Any:
            response.raise_for_status()
            return response.json()

        stations, partners = {}, {}
        for name in ("DEMO-A", "DEMO-B", "MYCO"):
            body = {"as2_id": name, "name": name}
            stations[name] = ok(http.post(f"{config_url}/api/v1/stations", json=body))
            body |= {"as2_url": "http://127.0.0.1:8080/as2"}
            partners[name] = ok(http.post(f"{config_url}/api/v1/partners", json=body))
        for name in ("DEMO-A", "DEMO-B"):
            alias = stations[name]["private_key_alias"]
            own = ok(http.post(f"{cert_url}/api/v1/certificates/own", json={"alias": alias}))
            ok(http.post(f"{cert_url}/api/v1/certificates/partner",
                         data={"alias": partners[name]["as2_alias"]},
                         files={"file": (f"{name}.cer", own["cert_pem"].encode())}))  # fmt: skip
        for station, partner in (*demo.DIRECTIONS, ("MYCO", "DEMO-A")):
            link = {"station_id": stations[station]["id"], "partner_id": partners[partner]["id"]}
            ok(http.post(f"{config_url}/api/v1/partnerships", json=link))


def test_up_gives_a_demo_an_older_as2bus_made_its_keystores_once(
    services: tuple[ServiceProcess, ServiceProcess], tmp_path: Path
) -> None:
    """Such a demo had none: the console's Rotate and 'as2bus keystore rotate' had nothing to
    rotate. Each demo partnership gets one sharing the key it signs with (cert-svc refuses a
    new one in its place: the other side trusts the station's certificate)."""
    config, cert = services
    older_demo(config.base_url, cert.base_url)
    password_file = tmp_path / "demo-keystore-password"

    def cli(*args: str) -> Any:
        root = ["--config-url", config.base_url, "--cert-url", cert.base_url, "--token", TOKEN]
        result = CliRunner().invoke(app, [*root, *args])
        assert result.exit_code == 0, result.output
        return result

    told = demo.keystores_told(config.base_url, cert.base_url, TOKEN,
                               lambda: KEYSTORE_PASSWORD, password_file)  # fmt: skip
    assert told.startswith("Created the loopback demo's missing keystores (DEMO-A:DEMO-B, "), told
    keystores = {(k["station_as2_id"], k["partner_as2_id"]): k
                 for k in json.loads(cli("--json", "keystore", "list").output)}  # fmt: skip
    assert set(keystores) == set(demo.DIRECTIONS)  # MYCO's partnership is left alone
    for ours, theirs in demo.DIRECTIONS:
        keystore, other_side = keystores[(ours, theirs)], keystores[(theirs, ours)]
        assert keystore["private_key_alias"] == ours.lower()  # the key it signed with before
        assert [c["fingerprint_sha256"] for c in keystore["partner_certificates"]] == [
            c["fingerprint_sha256"] for c in other_side["own_certificates"]
        ]
    # The next 'up' finds nothing missing; and the keystore can now be rotated.
    again = demo.keystores_told(config.base_url, cert.base_url, TOKEN,
                                lambda: "another-password", password_file)  # fmt: skip
    assert again == ""
    assert len(json.loads(cli("--json", "keystore", "list").output)) == 2
    cli("keystore", "rotate", "DEMO-A:DEMO-B")
