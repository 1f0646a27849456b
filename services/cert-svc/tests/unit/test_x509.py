import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from as2bus.cert import pkcs12_probe
from as2bus.cert.partner_files import load_partner_certificate
from as2bus.cert.x509 import (
    MAX_UPLOAD_BYTES,
    CertificateError,
    CertInfo,
    OwnKey,
    check_dates,
    describe,
    export_keystore_p12,
    export_partner_p12,
    generate_self_signed,
    load_own_pkcs12,
    load_p12_certificates,
)

MakeCert = Callable[..., cx509.Certificate]
AES = "AES-256-CBC (PBES2)"


def raises(field: str, match: str) -> pytest.RaisesExc[CertificateError]:
    """pytest.raises for a CertificateError that names ``field``."""
    return pytest.raises(CertificateError, match=match, check=lambda e: e.field == field)


def pem(cert: cx509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def p12(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None,
    cert: cx509.Certificate | None,
    cas: list[cx509.Certificate] | None = None,
    name: bytes | None = b"entry",
) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        name, key, cert, cas, serialization.BestAvailableEncryption(b"pw")
    )


def rsa_key(own: OwnKey) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(own.key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def own_cert(own: OwnKey) -> cx509.Certificate:
    return cx509.load_pem_x509_certificate(own.cert.cert_pem.encode())


# --- errors -----------------------------------------------------------------------------------


def test_certificate_error_names_the_field() -> None:
    err = CertificateError("password", "wrong password for this PKCS#12 file")
    assert isinstance(err, ValueError)
    assert (err.field, err.message, str(err)) == (
        "password",
        "wrong password for this PKCS#12 file",
        "wrong password for this PKCS#12 file",
    )


# --- generate_self_signed and describe --------------------------------------------------------


def test_generated_certificate_fields(own: OwnKey, now: datetime) -> None:
    info = own.cert
    assert info.subject == info.issuer == "CN=MYCO,O=My Co"
    assert re.fullmatch(r"[0-9A-F]{32}", info.serial)  # 128-bit serial, top bit set
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", info.fingerprint_sha256)
    assert info.not_before == now - timedelta(minutes=5)
    assert info.not_after == now + timedelta(days=730)
    assert info.not_before.tzinfo is not None
    assert info.key_bits == 2048
    assert own.key_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, not encrypted
    assert (own.chain_pems, own.alias) == ([], None)
    assert rsa_key(own).public_key() == own_cert(own).public_key()


def test_generated_certificate_extensions_suit_as2(own: OwnKey) -> None:
    cert = own_cert(own)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    basic = cert.extensions.get_extension_for_class(cx509.BasicConstraints)
    assert basic.critical
    assert basic.value.ca is False
    usage = cert.extensions.get_extension_for_class(cx509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    assert usage.content_commitment
    assert not usage.key_cert_sign
    ski = cert.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value
    assert ski == cx509.SubjectKeyIdentifier.from_public_key(cert.public_key())


def test_serials_are_random(own: OwnKey, partner: OwnKey) -> None:
    assert own.cert.serial != partner.cert.serial
    assert partner.cert.subject == "CN=PARTNER"


def test_generate_other_key_size_and_validity(now: datetime) -> None:
    own = generate_self_signed(
        " SIZED ", key_bits=3072, validity_days=1, now=now, organization="  "
    )
    assert own.cert.key_bits == 3072
    assert own.cert.subject == "CN=SIZED"  # trimmed; a blank organization is left out
    assert own.cert.not_after == now + timedelta(days=1)


@pytest.mark.parametrize(
    ("kwargs", "field", "match"),
    [
        ({"key_bits": 1024}, "key_bits", "one of"),
        ({"key_bits": 2047}, "key_bits", "one of"),
        ({"validity_days": 0}, "validity_days", "1 to 3650"),
        ({"validity_days": 3651}, "validity_days", "1 to 3650"),
        ({"common_name": ""}, "common_name", "1 to 64"),
        ({"common_name": "x" * 65}, "common_name", "1 to 64"),
        ({"organization": "x" * 65}, "organization", "at most 64"),
        ({"now": datetime(2026, 1, 1)}, "now", "timezone"),
    ],
)
def test_generate_refuses_bad_parameters(
    kwargs: dict[str, object], field: str, match: str, now: datetime
) -> None:
    args: dict[str, object] = {"common_name": "MYCO", "now": now, **kwargs}
    with raises(field, match):
        generate_self_signed(**args)  # type: ignore[arg-type]


def test_describe_matches_the_generated_info(own: OwnKey) -> None:
    assert describe(own.cert.cert_pem) == own.cert
    assert describe(own.cert.cert_pem.encode()) == own.cert


def test_describe_refuses_garbage() -> None:
    with raises("file", "not a PEM X.509 certificate"):
        describe("hello")


# --- keystore round trip ----------------------------------------------------------------------


def test_keystore_round_trip(own: OwnKey, partner: OwnKey) -> None:
    partners = [("partner", partner.cert.cert_pem)]
    data = export_keystore_p12(own, "myco", partners, "s3cret")
    # The tuple form (what the service keeps: sealed key PEM + cert PEM) gives the same content.
    same = export_keystore_p12((own.key_pem, own.cert.cert_pem), "myco", partners, "s3cret")
    assert load_p12_certificates(same, "s3cret") == load_p12_certificates(data, "s3cret")

    loaded = load_own_pkcs12(data, "s3cret", "myco")
    assert loaded.key_pem == own.key_pem
    assert loaded.cert == own.cert
    assert loaded.alias == "myco"
    assert loaded.chain_pems == []  # the partner's certificate is not our CA chain
    assert load_own_pkcs12(data, "s3cret").alias == "myco"  # no key_alias: the one key

    assert load_p12_certificates(data, "s3cret") == [("myco", own.cert), ("partner", partner.cert)]

    certs_only = export_partner_p12(
        [("partner", partner.cert.cert_pem), ("p2", own.cert.cert_pem)], "pw"
    )
    assert load_p12_certificates(certs_only, "pw") == [("partner", partner.cert), ("p2", own.cert)]


def test_exports_use_modern_encryption(own: OwnKey, partner: OwnKey) -> None:
    for data in (
        export_keystore_p12(own, "myco", [("partner", partner.cert.cert_pem)], "pw"),
        export_partner_p12([("partner", partner.cert.cert_pem)], "pw"),
    ):
        pfx = pkcs12_probe.parse_pfx(data)
        assert {a.name for a in pfx.algorithms} == {AES}
        assert pfx.mac_hash == "2.16.840.1.101.3.4.2.1"  # SHA-256


def test_keystore_rotation_keeps_both_partner_certificates(own: OwnKey, partner: OwnKey) -> None:
    # During a rotation the old and new partner certificates share one alias.
    partners = [("partner", partner.cert.cert_pem), ("partner", own.cert.cert_pem)]
    data = export_keystore_p12(own, "myco", partners, "pw")
    assert [a for a, _ in load_p12_certificates(data, "pw")] == ["myco", "partner", "partner"]


def test_non_ascii_password(own: OwnKey) -> None:
    data = export_keystore_p12(own, "myco", [], "pässwörd €")
    assert load_own_pkcs12(data, "pässwörd €").cert == own.cert
    with raises(
        "password", "^wrong password for this PKCS#12 file: give the password it was exported with$"
    ):
        load_own_pkcs12(data, "passwort")


def test_chain_is_the_issuers_found_in_the_file(own: OwnKey, make_cert: MakeCert) -> None:
    ca_key, leaf_key = rsa_key(own), rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = make_cert(ca_key, "Test CA", ca=True)
    leaf = make_cert(leaf_key, "LEAF", issuer_key=ca_key, issuer_cn="Test CA")
    unrelated = make_cert(ca_key, "Someone else")
    loaded = load_own_pkcs12(p12(leaf_key, leaf, [unrelated, ca]), "pw", "entry")
    assert loaded.chain_pems == [pem(ca).decode()]
    assert loaded.cert.issuer == "CN=Test CA"


@pytest.mark.parametrize(
    ("own_arg", "password", "field", "match"),
    [
        ("ok", "", "password", "password is required"),
        ("mismatch", "pw", "file", "does not match"),
    ],
)
def test_export_keystore_refuses(
    own: OwnKey, partner: OwnKey, own_arg: str, password: str, field: str, match: str
) -> None:
    arg = own if own_arg == "ok" else (own.key_pem, partner.cert.cert_pem)
    with raises(field, match):
        export_keystore_p12(arg, "myco", [], password)


def test_export_partner_needs_a_password(partner: OwnKey) -> None:
    with raises("password", "password is required"):
        export_partner_p12([("partner", partner.cert.cert_pem)], "")


# --- load_own_pkcs12 errors -------------------------------------------------------------------


def test_wrong_password(own: OwnKey) -> None:
    data = export_keystore_p12(own, "myco", [], "right")
    with raises(
        "password", "^wrong password for this PKCS#12 file: give the password it was exported with$"
    ):
        load_own_pkcs12(data, "wrong")
    with raises("password", "wrong password"):
        load_p12_certificates(data, "")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00\x01garbage" * 10, r"^this is not a PKCS#12 file \(expected a .p12/.pfx"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "PEM file"),
        (b"", "not a PKCS#12 file"),
        (b"0\x03\x02\x01\x03", "not a PKCS#12 file"),  # a SEQUENCE holding only the version
    ],
)
def test_not_pkcs12(data: bytes, match: str) -> None:
    with raises("file", match):
        load_own_pkcs12(data, "pw")


def test_truncated_pkcs12_is_not_pkcs12(own: OwnKey) -> None:
    data = export_keystore_p12(own, "myco", [], "pw")
    with raises("file", "not a PKCS#12 file .*ends early"):
        load_own_pkcs12(data[: len(data) // 2], "pw")


def test_pem_key_and_certificate_is_not_pkcs12(own: OwnKey) -> None:
    data = (own.key_pem + own.cert.cert_pem).encode()
    with raises("file", "not a PKCS#12 file .*openssl pkcs12 -export"):
        load_own_pkcs12(data, "pw")


def test_too_large() -> None:
    with raises("file", "larger than 1 MiB"):
        load_own_pkcs12(b"0" * (MAX_UPLOAD_BYTES + 1), "pw")
    with raises("file", "larger than 1 MiB"):
        load_partner_certificate(b"0" * (MAX_UPLOAD_BYTES + 1))


def test_no_private_key(partner: OwnKey) -> None:
    data = export_partner_p12([("partner", partner.cert.cert_pem)], "pw")
    with raises("file", "no private key in this PKCS#12 file .*1 certificate"):
        load_own_pkcs12(data, "pw")


def test_key_alias_not_found(own: OwnKey, partner: OwnKey) -> None:
    data = export_keystore_p12(own, "myco", [("partner", partner.cert.cert_pem)], "pw")
    with raises("key_alias", "^no entry 'nope' in the file; aliases present: myco, partner$"):
        load_own_pkcs12(data, "pw", "nope")


def test_key_alias_of_a_certificate_entry(own: OwnKey, partner: OwnKey) -> None:
    data = export_keystore_p12(own, "myco", [("partner", partner.cert.cert_pem)], "pw")
    with raises("key_alias", "'partner' is a certificate without a private key.*under 'myco'"):
        load_own_pkcs12(data, "pw", "partner")


def test_key_alias_when_the_file_has_no_names(own: OwnKey) -> None:
    data = p12(rsa_key(own), own_cert(own), name=None)
    assert load_own_pkcs12(data, "pw").alias is None
    with raises("key_alias", r"aliases present: \(none\)"):
        load_own_pkcs12(data, "pw", "myco")


def test_key_without_matching_certificate(own: OwnKey, partner: OwnKey) -> None:
    # OpenSSL pairs a key with the certificate holding its public key; here there is none.
    data = p12(rsa_key(own), None, [own_cert(partner)])
    with raises("file", "private key does not match any certificate"):
        load_own_pkcs12(data, "pw")


def test_short_rsa_key(rsa_1024: rsa.RSAPrivateKey, make_cert: MakeCert) -> None:
    data = p12(rsa_1024, make_cert(rsa_1024, "OLD"))
    with raises("file", "1024-bit key; at least 2048 bits required"):
        load_own_pkcs12(data, "pw")
    assert load_own_pkcs12(data, "pw", min_key_bits=1024).cert.key_bits == 1024


def test_min_key_bits_is_a_parameter(own: OwnKey) -> None:
    data = p12(rsa_key(own), own_cert(own))
    with raises("file", "2048-bit key; at least 3072 bits required"):
        load_own_pkcs12(data, "pw", min_key_bits=3072)


def test_ec_key_is_refused(ec_key: ec.EllipticCurvePrivateKey, make_cert: MakeCert) -> None:
    data = p12(ec_key, make_cert(ec_key, "EC"))
    with raises("file", r"EC \(secp256r1\) key; AS2 here uses RSA keys only"):
        load_own_pkcs12(data, "pw")


def test_unencrypted_pkcs12_with_empty_password(own: OwnKey) -> None:
    data = pkcs12.serialize_key_and_certificates(
        b"x", rsa_key(own), own_cert(own), None, serialization.NoEncryption()
    )
    assert load_own_pkcs12(data, "").alias == "x"


@pytest.mark.parametrize(
    "cipher", [pkcs12.PBES.PBESv2SHA256AndAES256CBC, pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC]
)
def test_failure_with_the_right_password(
    own: OwnKey, monkeypatch: pytest.MonkeyPatch, cipher: pkcs12.PBES
) -> None:
    """cryptography refuses a file whose MAC the password matches: not a password problem.

    Simulated; the interop tests have the real case (RC2-40 without OpenSSL's legacy provider).
    """
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .key_cert_algorithm(cipher)
        .build(b"pw")
    )
    data = pkcs12.serialize_key_and_certificates(
        b"myco", rsa_key(own), own_cert(own), None, encryption
    )

    def refuse(data: bytes, password: bytes | None) -> None:
        raise ValueError("Invalid password or PKCS12 data")

    monkeypatch.setattr(pkcs12, "load_pkcs12", refuse)
    with raises("file", "^the password is right, but this PKCS#12 file could not be read"):
        load_own_pkcs12(data, "pw")
    with raises("password", "wrong password"):  # the MAC still tells a wrong password apart
        load_own_pkcs12(data, "not pw")


def test_damaged_files_are_explained_not_crashed_on(own: OwnKey, partner: OwnKey) -> None:
    """Random damage to a keystore gives a CertificateError, never another exception."""
    data = export_keystore_p12(own, "myco", [("partner", partner.cert.cert_pem)], "pw")
    rng = random.Random(4130)
    fields = []
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(damaged))
            if rng.random() < 0.7:  # a different value: the same one is no damage (1 in 256)
                damaged[pos] = (damaged[pos] + rng.randrange(1, 256)) % 256
            else:
                del damaged[pos : pos + rng.randint(1, 40)]
        with pytest.raises(CertificateError) as err:
            load_own_pkcs12(bytes(damaged), "pw")
        fields.append(err.value.field)
        with pytest.raises(CertificateError):
            load_partner_certificate(bytes(damaged))
    # Damage to the MAC itself reads as a wrong password: OpenSSL cannot tell either.
    assert set(fields) == {"file", "password"}


# --- load_partner_certificate -----------------------------------------------------------------


def test_partner_pem_and_der(partner: OwnKey) -> None:
    cert = own_cert(partner)
    assert load_partner_certificate(pem(cert)).cert == partner.cert
    assert (
        load_partner_certificate(cert.public_bytes(serialization.Encoding.DER)).cert == partner.cert
    )


def test_partner_pem_with_text_around_it(partner: OwnKey) -> None:
    data = b"Subject: CN=PARTNER\n" + partner.cert.cert_pem.encode() + b"\n"
    assert load_partner_certificate(data).cert == partner.cert


PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER
PKCS8, PKCS1 = serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL


@pytest.mark.parametrize(
    ("encoding", "fmt", "encrypted"),
    [
        (PEM, PKCS8, False),  # -----BEGIN PRIVATE KEY-----
        (PEM, PKCS8, True),  # -----BEGIN ENCRYPTED PRIVATE KEY-----
        (PEM, PKCS1, False),  # -----BEGIN RSA PRIVATE KEY-----
        (PEM, PKCS1, True),  # the same with Proc-Type: 4,ENCRYPTED
        (DER, PKCS8, False),
        (DER, PKCS8, True),
        (DER, PKCS1, False),
    ],
)
def test_partner_upload_with_a_private_key_is_refused(
    partner: OwnKey,
    encoding: serialization.Encoding,
    fmt: serialization.PrivateFormat,
    encrypted: bool,
) -> None:
    enc = (
        serialization.BestAvailableEncryption(b"pw") if encrypted else serialization.NoEncryption()
    )
    key = rsa_key(partner).private_bytes(encoding, fmt, enc)
    data = key + partner.cert.cert_pem.encode() if encoding is PEM else key
    with raises("file", "holds a private key; upload only the partner's public certificate"):
        load_partner_certificate(data)


def test_partner_csr_is_refused(partner: OwnKey) -> None:
    csr = (
        cx509.CertificateSigningRequestBuilder()
        .subject_name(own_cert(partner).subject)
        .sign(rsa_key(partner), hashes.SHA256())
    )
    with raises("file", r"no certificate \(found: CERTIFICATE REQUEST\)"):
        load_partner_certificate(csr.public_bytes(serialization.Encoding.PEM))


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01garbage",
        b"",
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    ],
)
def test_partner_not_x509(data: bytes) -> None:
    with raises("file", "^the file is not a certificate: expected a PEM or DER X.509 certificate"):
        load_partner_certificate(data)


def test_partner_short_and_non_rsa_keys(
    rsa_1024: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, make_cert: MakeCert
) -> None:
    with raises("file", "1024-bit key; at least 2048 bits required"):
        load_partner_certificate(pem(make_cert(rsa_1024, "OLD")))
    assert load_partner_certificate(pem(make_cert(rsa_1024, "OLD")), min_key_bits=1024)
    with raises("file", "EC .* key; AS2 here uses RSA keys only"):
        load_partner_certificate(pem(make_cert(ec_key, "EC")))


# --- check_dates ------------------------------------------------------------------------------


def test_dates_fine(own: OwnKey, now: datetime) -> None:
    assert check_dates(own.cert, now, allow_invalid_dates=False) == []
    assert check_dates(own.cert, own.cert.not_before, allow_invalid_dates=False) == []
    assert check_dates(own.cert, own.cert.not_after, allow_invalid_dates=False) == []


def test_not_yet_valid(own: OwnKey, now: datetime) -> None:
    early = now - timedelta(hours=1)
    with raises(
        "file",
        r"^the certificate is not valid until 2026-01-15 11:55:00 UTC; wait until then, or store "
        r"it anyway with allow_invalid_dates \(as2bus: --allow-invalid-dates\)$",
    ):
        check_dates(own.cert, early, allow_invalid_dates=False)
    assert check_dates(own.cert, early, allow_invalid_dates=True) == [
        "certificate is not valid until 2026-01-15 11:55:00 UTC"
    ]


def test_expired(own: OwnKey) -> None:
    late = datetime(2030, 1, 1, tzinfo=UTC)
    with raises("file", r"^the certificate expired on 2028-01-15 12:00:00 UTC; get a current one"):
        check_dates(own.cert, late, allow_invalid_dates=False)
    assert check_dates(own.cert, late, allow_invalid_dates=True) == [
        "certificate expired on 2028-01-15 12:00:00 UTC"
    ]


def test_cert_info_is_frozen(own: OwnKey) -> None:
    with pytest.raises(AttributeError):
        own.cert.serial = "0"  # type: ignore[misc]
    assert isinstance(own.cert, CertInfo)


def test_a_pkcs12_asking_for_too_many_mac_iterations_is_refused_before_openssl_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = generate_self_signed("me", now=datetime(2026, 1, 15, tzinfo=UTC))
    data = export_keystore_p12(own, "me", [], "right-password")
    assert pkcs12_probe.parse_pfx(data).mac_iterations == 2048  # what cryptography writes
    monkeypatch.setattr(pkcs12_probe, "MAX_MAC_ITERATIONS", 1000)
    with pytest.raises(CertificateError, match="2048 MAC iterations") as err:
        load_own_pkcs12(data, "right-password")
    assert err.value.field == "file"
