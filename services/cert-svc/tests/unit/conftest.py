"""Shared fixtures: RSA key generation is the slow part, so keys are made once per session."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from as2bus.cert.x509 import OwnKey, generate_self_signed

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

IssuableKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
MakeCert = Callable[..., x509.Certificate]


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def own() -> OwnKey:
    return generate_self_signed("MYCO", organization="My Co", now=NOW)


@pytest.fixture(scope="session")
def partner() -> OwnKey:
    return generate_self_signed("PARTNER", now=NOW)


@pytest.fixture(scope="session")
def make_cert() -> MakeCert:
    """make_cert(key, cn, issuer_key=None, issuer_cn=None, ca=False, serial=None): a test
    certificate."""

    def make(
        key: IssuableKey,
        cn: str,
        issuer_key: IssuableKey | None = None,
        issuer_cn: str | None = None,
        ca: bool = False,
        serial: int | None = None,
    ) -> x509.Certificate:
        def name(value: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])

        return (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(name(issuer_cn or cn))
            .public_key(key.public_key())
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key or key, hashes.SHA256())
        )

    return make


@pytest.fixture(scope="session")
def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())
