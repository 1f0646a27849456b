"""Keys, certificates and parties for codec tests (RSA 2048, self-signed, made once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from as2bus.shared.as2 import KeyPair, LocalParty, RemoteParty


def make_pair(cn: str) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    )


@pytest.fixture(scope="session")
def alice_keys() -> KeyPair:
    return make_pair("alice")


@pytest.fixture(scope="session")
def bob_keys() -> KeyPair:
    return make_pair("bob")


@pytest.fixture(scope="session")
def stranger_keys() -> KeyPair:
    return make_pair("stranger")


@pytest.fixture
def alice(alice_keys: KeyPair) -> LocalParty:
    """The sender's own side."""
    return LocalParty(as2_id="ALICE", signing=alice_keys, decryption=[alice_keys])


@pytest.fixture
def bob(bob_keys: KeyPair) -> LocalParty:
    """The receiver's own side."""
    return LocalParty(as2_id="BOB", signing=bob_keys, decryption=[bob_keys])


@pytest.fixture
def bob_as_seen_by_alice(bob_keys: KeyPair) -> RemoteParty:
    return RemoteParty(
        as2_id="BOB", verify_certs=[bob_keys.cert_pem], encrypt_cert=bob_keys.cert_pem
    )


@pytest.fixture
def alice_as_seen_by_bob(alice_keys: KeyPair) -> RemoteParty:
    return RemoteParty(
        as2_id="ALICE", verify_certs=[alice_keys.cert_pem], encrypt_cert=alice_keys.cert_pem
    )
