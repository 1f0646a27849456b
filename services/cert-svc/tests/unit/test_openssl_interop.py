"""Interoperability with the openssl command line (OpenSSL 3.0 on the build machine).

These fail, never skip, without openssl: partners and operators make and read keystores with it.

What happens with older PKCS#12 encryption (checked below, cryptography 50 whose wheel bundles
OpenSSL with the legacy provider loaded): files from ``openssl pkcs12 -export`` with the default
AES, with ``-legacy`` (certificates RC2-40, key 3DES) and with ``-certpbe/-keypbe PBE-SHA1-3DES``
are all imported. Only when cryptography runs without the legacy provider (for example with
CRYPTOGRAPHY_OPENSSL_NO_LEGACY set, or a distribution build of OpenSSL without it) is a -legacy
file refused, with a message naming RC2-40 and the command that converts it; 3DES still loads.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from as2bus.cert.partner_files import load_partner_certificate
from as2bus.cert.pkcs12_probe import CONVERT_COMMAND
from as2bus.cert.x509 import (
    CertificateError,
    OwnKey,
    describe,
    export_keystore_p12,
    export_partner_p12,
    load_own_pkcs12,
)

SECRET = "secret"
SUBJECT = "/O=Interop Ltd/CN=OPENSSLCO"  # DER order O, CN: RFC 4514 reads it back CN first
EXPORTS = {
    "default": [],  # OpenSSL 3: PBES2 AES-256-CBC, MAC SHA-256
    "legacy": ["-legacy"],  # certificates RC2-40, key 3DES, MAC SHA-1
    "3des": ["-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES"],
}


def openssl(*args: str | Path, input: bytes | None = None, cwd: Path | None = None) -> str:
    """Run openssl; its output (stdout, then stderr, where -info writes) as text."""
    exe = shutil.which("openssl")
    if exe is None:
        pytest.fail("the openssl command is required for the interoperability tests")
    done = subprocess.run(
        [exe, *map(str, args)], input=input, cwd=cwd, capture_output=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    return (done.stdout + done.stderr).decode()


def openssl_key_and_cert(tmp: Path, bits: int = 2048) -> tuple[Path, Path]:
    key, cert = tmp / f"key{bits}.pem", tmp / f"cert{bits}.pem"
    openssl("req", "-x509", "-newkey", f"rsa:{bits}", "-nodes", "-keyout", key, "-out", cert,
            "-subj", SUBJECT, "-days", "30")  # fmt: skip
    return key, cert


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An openssl-made 2048-bit key and self-signed certificate."""
    return openssl_key_and_cert(tmp_path_factory.mktemp("openssl"))


def export_p12(made: tuple[Path, Path], out: Path, *options: str, password: str = SECRET) -> bytes:
    key, cert = made
    openssl("pkcs12", "-export", *options, "-name", "myalias", "-inkey", key, "-in", cert,
            "-out", out, "-passout", f"pass:{password}")  # fmt: skip
    return out.read_bytes()


def same_key(key_pem: str | bytes, path: Path) -> bool:
    ours = serialization.load_pem_private_key(
        key_pem.encode() if isinstance(key_pem, str) else key_pem, None
    )
    theirs = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(ours, rsa.RSAPrivateKey)
    assert isinstance(theirs, rsa.RSAPrivateKey)
    return ours.private_numbers() == theirs.private_numbers()


# --- openssl reads what we write --------------------------------------------------------------


def test_openssl_reads_our_keystore(own: OwnKey, partner: OwnKey, tmp_path: Path) -> None:
    p12 = tmp_path / "keystore.p12"
    p12.write_bytes(export_keystore_p12(own, "myco", [("acme", partner.cert.cert_pem)], "s3cret"))

    info = openssl("pkcs12", "-info", "-nokeys", "-in", p12, "-passin", "pass:s3cret")
    assert "MAC: sha256" in info
    assert "PBES2, PBKDF2, AES-256-CBC" in info
    assert "friendlyName: myco" in info
    assert "friendlyName: acme" in info
    assert "subject=O = My Co, CN = MYCO" in info  # openssl prints the DER order
    assert "subject=CN = PARTNER" in info

    out = openssl("pkcs12", "-in", p12, "-nodes", "-passin", "pass:s3cret")
    assert out.count("-----BEGIN CERTIFICATE-----") == 2
    key_block = re.search(r"-----BEGIN PRIVATE KEY-----.*?-----END PRIVATE KEY-----", out, re.S)
    assert key_block is not None
    extracted = tmp_path / "extracted.pem"
    extracted.write_text(key_block.group(0))
    assert same_key(own.key_pem, extracted)

    with pytest.raises(AssertionError, match=r"verify error|invalid password|Mac verify"):
        openssl("pkcs12", "-info", "-nokeys", "-in", p12, "-passin", "pass:wrong")


ORACLE_TRUSTED_KEY_USAGE = "2.16.840.1.113894.746875.1.1"  # openssl has no name for it


def bags(info: str) -> dict[str, str]:
    """``openssl pkcs12 -info`` output: each bag's attributes by its friendlyName."""
    found = {}
    for bag in info.split("Bag Attributes")[1:]:
        name = re.search(r"friendlyName: (\S+)", bag)
        assert name is not None
        found[name.group(1)] = bag.split("subject=")[0]
    return found


def test_our_exports_mark_partner_certificates_trusted_for_java(
    own: OwnKey, partner: OwnKey, tmp_path: Path
) -> None:
    """keytool (OpenAS2, Mendelson) lists a certificate entry only with Oracle's trusted-key-
    usage attribute: without it, it saw 1 entry in our keystore export and 0 in the partner's."""
    partners = [("partnera", partner.cert.cert_pem)]
    keystore, truststore = tmp_path / "keystore.p12", tmp_path / "partner.p12"
    keystore.write_bytes(export_keystore_p12(own, "mycompany", partners, "s3cret"))
    truststore.write_bytes(export_partner_p12(partners, "s3cret"))

    info = openssl("pkcs12", "-info", "-nokeys", "-in", keystore, "-passin", "pass:s3cret")
    assert "MAC: sha256" in info  # the MAC, computed again over both parts, verifies
    found = bags(info)
    assert list(found) == ["mycompany", "partnera"]
    assert ORACLE_TRUSTED_KEY_USAGE in found["partnera"]
    assert ORACLE_TRUSTED_KEY_USAGE not in found["mycompany"]  # a key entry, not a trusted one
    out = openssl("pkcs12", "-in", keystore, "-nodes", "-passin", "pass:s3cret")
    assert out.count("-----BEGIN CERTIFICATE-----") == 2
    assert out.count("-----BEGIN PRIVATE KEY-----") == 1

    info = openssl("pkcs12", "-info", "-nokeys", "-in", truststore, "-passin", "pass:s3cret")
    assert ORACLE_TRUSTED_KEY_USAGE in bags(info)["partnera"]


def test_the_hint_for_a_partner_pkcs12_writes_the_certificate(
    partner: OwnKey, tmp_path: Path
) -> None:
    """The command the refusal suggests writes the certificate (-clcerts wrote 0 bytes)."""
    p12 = tmp_path / "partner.p12"
    p12.write_bytes(export_partner_p12([("partnera", partner.cert.cert_pem)], "s3cret"))
    with pytest.raises(CertificateError) as refused:
        load_partner_certificate(p12.read_bytes(), name="partner.p12")
    command = re.search(r"'openssl (pkcs12 [^']+)'", refused.value.message)
    assert command is not None
    openssl(*shlex.split(command.group(1)), "-passin", "pass:s3cret", cwd=tmp_path)
    written = (tmp_path / "partner.pem").read_bytes()
    assert load_partner_certificate(written).cert == partner.cert


def test_openssl_shows_serial_numbers_as_we_do(
    make_cert: Callable[..., x509.Certificate], own: OwnKey
) -> None:
    """A serial whose first byte is below 0x10 keeps its leading zero, as openssl prints it."""
    key = serialization.load_pem_private_key(own.key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    cert = make_cert(key, "SERIAL", serial=0x0503E94FB0C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    out = openssl("x509", "-noout", "-serial", input=pem)
    assert out == f"serial={describe(pem).serial}\n"
    assert describe(pem).serial.startswith("0503E94F")


def test_openssl_x509_agrees_with_describe(own: OwnKey) -> None:
    out = openssl(
        "x509", "-noout", "-subject", "-issuer", "-serial", "-fingerprint", "-sha256",
        "-nameopt", "RFC2253", input=own.cert.cert_pem.encode(),
    )  # fmt: skip
    info = describe(own.cert.cert_pem)
    assert f"subject={info.subject}\n" in out
    assert f"issuer={info.issuer}\n" in out
    assert f"serial={info.serial}\n" in out
    assert f"sha256 Fingerprint={info.fingerprint_sha256}\n" in out
    text = openssl("x509", "-noout", "-text", input=own.cert.cert_pem.encode())
    assert "Public-Key: (2048 bit)" in text
    assert "Digital Signature, Non Repudiation, Key Encipherment" in text
    assert "CA:FALSE" in text


# --- we read what openssl writes --------------------------------------------------------------


@pytest.mark.parametrize("kind", EXPORTS)
def test_we_import_openssl_exports(made: tuple[Path, Path], tmp_path: Path, kind: str) -> None:
    # All three are imported (see the module docstring): cryptography 50 reads RC2-40 and 3DES.
    data = export_p12(made, tmp_path / f"{kind}.p12", *EXPORTS[kind])
    own = load_own_pkcs12(data, "secret", "myalias")
    assert own.alias == "myalias"
    assert own.cert.subject == "CN=OPENSSLCO,O=Interop Ltd"
    assert own.cert == describe(made[1].read_text())
    assert same_key(own.key_pem, made[0])
    with pytest.raises(CertificateError, match=r"^wrong password") as err:
        load_own_pkcs12(data, "not the password")
    assert err.value.field == "password"
    with pytest.raises(CertificateError, match=r"no entry 'other'.*present: myalias"):
        load_own_pkcs12(data, "secret", "other")


def test_openssl_empty_password(made: tuple[Path, Path], tmp_path: Path) -> None:
    data = export_p12(made, tmp_path / "empty.p12", password="")
    assert load_own_pkcs12(data, "").alias == "myalias"
    with pytest.raises(CertificateError, match=r"^wrong password") as err:
        load_own_pkcs12(data, "x")
    assert err.value.field == "password"


def load_without_legacy_provider(path: Path, password: str) -> dict[str, str]:
    """load_own_pkcs12 in a fresh interpreter where cryptography skips OpenSSL's legacy provider."""
    script = textwrap.dedent(f"""
        import json, pathlib
        from as2bus.cert.x509 import CertificateError, load_own_pkcs12
        try:
            own = load_own_pkcs12(pathlib.Path({str(path)!r}).read_bytes(), {password!r})
            print(json.dumps({{"alias": own.alias}}))
        except CertificateError as err:
            print(json.dumps({{"field": err.field, "message": err.message}}))
    """)
    env = {**os.environ, "CRYPTOGRAPHY_OPENSSL_NO_LEGACY": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, check=True, timeout=60
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def test_legacy_file_without_legacy_provider(made: tuple[Path, Path], tmp_path: Path) -> None:
    legacy = tmp_path / "old.p12"
    export_p12(made, legacy, "-legacy")

    refused = load_without_legacy_provider(legacy, "secret")
    assert refused["field"] == "file"
    assert "RC2-40 (openssl -legacy)" in refused["message"]
    assert refused["message"].endswith(f"{CONVERT_COMMAND} (then delete tmp.pem)")
    # The MAC (SHA-1, no legacy cipher needed) still tells a wrong password apart.
    assert load_without_legacy_provider(legacy, "wrong") == {
        "field": "password",
        "message": "wrong password for this PKCS#12 file: give the password it was exported with",
    }
    # 3DES is in OpenSSL's default provider: no conversion needed.
    des3 = tmp_path / "3des.p12"
    export_p12(made, des3, *EXPORTS["3des"])
    assert load_without_legacy_provider(des3, "secret") == {"alias": "myalias"}

    # The suggested conversion works (passwords given on the command line instead of prompts).
    first, second = CONVERT_COMMAND.replace("ALIAS", "myalias").split(" && ")
    openssl(*first.split()[1:], "-passin", "pass:secret", "-passout", "pass:tmp", cwd=tmp_path)
    assert "ENCRYPTED PRIVATE KEY" in (tmp_path / "tmp.pem").read_text()  # never in the clear
    openssl(*second.split()[1:], "-passin", "pass:tmp", "-passout", "pass:secret", cwd=tmp_path)
    new = tmp_path / "new.p12"
    assert load_without_legacy_provider(new, "secret") == {"alias": "myalias"}


# --- partner certificates from openssl --------------------------------------------------------


def test_partner_certificate_pem_and_der(made: tuple[Path, Path], tmp_path: Path) -> None:
    _, cert = made
    der = tmp_path / "partner.cer"
    openssl("x509", "-in", cert, "-outform", "DER", "-out", der)
    from_pem = load_partner_certificate(cert.read_bytes()).cert
    assert load_partner_certificate(der.read_bytes()).cert == from_pem
    fingerprint = openssl("x509", "-in", cert, "-noout", "-fingerprint", "-sha256")
    assert fingerprint.strip() == f"sha256 Fingerprint={from_pem.fingerprint_sha256}"


def test_openssl_1024_bit_key_is_refused(tmp_path: Path) -> None:
    key, cert = openssl_key_and_cert(tmp_path, bits=1024)
    with pytest.raises(CertificateError, match="1024-bit key; at least 2048 bits required") as err:
        load_partner_certificate(cert.read_bytes())
    assert err.value.field == "file"
    p12 = export_p12((key, cert), tmp_path / "short.p12")
    with pytest.raises(CertificateError, match="1024-bit key; at least 2048 bits required"):
        load_own_pkcs12(p12, "secret")


@pytest.mark.parametrize(
    "key_options",
    [
        [],  # -----BEGIN PRIVATE KEY-----
        ["-traditional"],  # -----BEGIN RSA PRIVATE KEY-----
        ["-aes256", "-passout", "pass:x"],  # -----BEGIN ENCRYPTED PRIVATE KEY-----
    ],
)
def test_pem_with_private_key_is_refused(made: tuple[Path, Path], key_options: list[str]) -> None:
    key, cert = made
    key_pem = openssl("pkey", "-in", key, *key_options)
    with pytest.raises(CertificateError, match="holds a private key") as err:
        load_partner_certificate(cert.read_bytes() + key_pem.encode())
    assert err.value.field == "file"
