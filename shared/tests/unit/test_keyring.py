"""The rotation window, proven with real RSA signatures rather than flags."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from as2bus.contracts import KeyMaterialEntry, PartnershipKey
from as2bus.contracts.certs import CertKind
from as2bus.shared.keyring import CertificateUnavailableError, KeyRing

T0 = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def make_cert(cn: str, not_after: datetime) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - 365 * DAY)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def entry(
    pem: str, kind: CertKind, activation: datetime, retirement: datetime | None, not_after: datetime
) -> KeyMaterialEntry:
    return KeyMaterialEntry(
        id=uuid.uuid4(), alias="acme", kind=kind, subject="CN=x", issuer="CN=x", serial="1",
        fingerprint_sha256=pem[-40:], not_before=T0 - 365 * DAY, not_after=not_after,
        activation_at=activation, retirement_at=retirement, cert_pem=pem,
    )  # fmt: skip


def verifies(ring: KeyRing, at: datetime, data: bytes, signature: bytes) -> bool:
    for candidate in ring.verification_certificates("acme", at):
        public = x509.load_pem_x509_certificate(candidate.cert_pem.encode()).public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        except InvalidSignature:
            continue
    return False


def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def test_during_the_switchover_either_partner_certificate_verifies_then_only_the_new_one() -> None:
    old_key, old_pem = make_cert("old", T0 + 365 * DAY)
    new_key, new_pem = make_cert("new", T0 + 730 * DAY)
    ring = KeyRing(
        [
            entry(old_pem, "partner", T0 - 100 * DAY, T0 + 7 * DAY, T0 + 365 * DAY),
            entry(new_pem, "partner", T0, None, T0 + 730 * DAY),
        ]
    )
    data = b"ISA*00*...~"
    by_old, by_new = sign(old_key, data), sign(new_key, data)
    before, during, after = T0 - DAY, T0 + DAY, T0 + 8 * DAY
    assert verifies(ring, before, data, by_old)
    assert not verifies(ring, before, data, by_new)  # the new one is not active yet
    assert verifies(ring, during, data, by_old)
    assert verifies(ring, during, data, by_new)
    assert not verifies(ring, after, data, by_old)  # retired
    assert verifies(ring, after, data, by_new)
    assert not verifies(ring, during, data, sign(make_cert("stranger", T0 + DAY)[0], data))


def test_signing_switches_to_the_new_key_at_its_activation_and_both_keys_decrypt() -> None:
    _, old_pem = make_cert("old", T0 + 365 * DAY)
    _, new_pem = make_cert("new", T0 + 730 * DAY)
    old = entry(old_pem, "own", T0 - 100 * DAY, T0 + 7 * DAY, T0 + 365 * DAY)
    new = entry(new_pem, "own", T0, None, T0 + 730 * DAY)
    ring = KeyRing([old, new])
    assert ring.signing_key("acme", T0 - DAY) == old
    assert ring.signing_key("acme", T0) == new
    assert ring.decryption_keys("acme", T0 + DAY) == [new, old]
    assert ring.decryption_keys("acme", T0 + 8 * DAY) == [new]


def test_only_expired_certificates_give_cert_has_expired() -> None:
    _, pem = make_cert("old", T0)
    ring = KeyRing([entry(pem, "partner", T0 - 100 * DAY, None, T0)])
    with pytest.raises(CertificateUnavailableError) as err:
        ring.encryption_certificate("acme", T0 + DAY)
    assert err.value.reason == "CERT_HAS_EXPIRED"
    with pytest.raises(CertificateUnavailableError) as missing:
        ring.signing_key("acme", T0 + DAY)
    assert missing.value.reason == "CERT_NOT_FOUND"


def test_a_partnership_with_a_keystore_whose_key_is_gone_names_the_missing_certificate() -> None:
    """Only a partnership never given a key is told to create its keystore; one that has a
    keystore (or a key under its station's alias, even one out of service) lost a certificate."""
    keystore = PartnershipKey(station_as2_id="MYCO", partner_as2_id="acme",
                              private_key_alias="myco@acme", partner_cert_alias="acme")  # fmt: skip
    with pytest.raises(CertificateUnavailableError) as lost:
        KeyRing([], [keystore]).partnership_signing_key("MYCO", "acme", "myco", T0)
    assert lost.value.sentence == "own certificate 'myco@acme': none in service at " + (
        T0.isoformat(timespec="seconds")
    )
    _, pem = make_cert("old", T0 + DAY)
    retired = entry(pem, "own", T0 - 100 * DAY, T0 - DAY, T0 + DAY)
    with pytest.raises(CertificateUnavailableError) as gone:
        KeyRing([retired]).partnership_signing_key("MYCO", "acme", "acme", T0)
    assert gone.value.sentence.startswith("own certificate 'acme': none in service")
    with pytest.raises(CertificateUnavailableError) as never:
        KeyRing([]).partnership_signing_key("MYCO", "acme", "myco", T0)
    assert never.value.sentence.startswith("MYCO -> acme has no key of ours yet")


def test_a_certificate_coming_into_service_verifies_only_when_asked_for_up_to_its_time() -> None:
    """For a sync MDN: signed after the partner's switch, answering a message sent before."""
    old_key, old_pem = make_cert("old", T0 + 365 * DAY)
    new_key, new_pem = make_cert("new", T0 + 730 * DAY)
    switch = T0 + timedelta(seconds=1)
    ring = KeyRing(
        [
            entry(old_pem, "partner", T0 - 100 * DAY, switch + 7 * DAY, T0 + 365 * DAY),
            entry(new_pem, "partner", switch, None, T0 + 730 * DAY),
        ]
    )

    def pems(coming_until: datetime | None = None) -> set[str]:
        found = ring.verification_certificates("acme", T0, coming_until=coming_until)
        return {e.cert_pem for e in found}

    assert pems() == {old_pem}
    assert pems(T0 + timedelta(hours=1)) == {old_pem, new_pem}
    assert pems(T0 + timedelta(milliseconds=500)) == {old_pem}  # not yet by then
    newest_first = ring.verification_certificates("acme", T0, coming_until=switch)
    assert [e.cert_pem for e in newest_first] == [new_pem, old_pem]
    assert sign(new_key, b"x") != sign(old_key, b"x")  # two keys, really
