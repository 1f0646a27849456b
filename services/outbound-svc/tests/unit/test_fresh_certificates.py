"""A certificate stored a moment ago: the key cache has not seen its event yet, so the sender
asks cert-svc once more before it fails the message for a missing certificate (fakes of our
own ports; the real client's refresh is tested against cert-svc in tests/integration)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import CertificateBuilder, Name, NameAttribute, random_serial_number
from cryptography.x509.oid import NameOID

from as2bus.outbound.parties import resolve_sides
from as2bus.shared.contracts import KeyMaterialEntry
from as2bus.shared.keyring import CertificateUnavailableError, KeyRing
from as2bus.shared.testing.config_states import partner_state, station_state

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def certificate(alias: str, kind: str) -> KeyMaterialEntry:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = Name([NameAttribute(NameOID.COMMON_NAME, alias)])
    cert = (
        CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(random_serial_number()).not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30)).sign(key, hashes.SHA256())
    )  # fmt: skip
    return KeyMaterialEntry(
        id=uuid.uuid4(), alias=alias, kind=kind, subject=f"CN={alias}",  # type: ignore[arg-type]
        issuer=f"CN={alias}", serial="1", fingerprint_sha256=alias,
        not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=30),
        activation_at=NOW - timedelta(days=1),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )  # fmt: skip


class Keys:
    """The key cache: ``stale`` until asked for a fresh ring."""

    def __init__(self, stale: KeyRing, fresh: KeyRing) -> None:
        self.stale, self.fresh, self.asked_fresh = stale, fresh, 0

    async def keyring(self, *, fresh: bool = False) -> KeyRing:
        self.asked_fresh += fresh
        return self.fresh if fresh else self.stale

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes:
        return b"-----BEGIN PRIVATE KEY-----"


def config() -> Any:
    station, partner = station_state("MYCO"), partner_state("acme")
    link = SimpleNamespace(station_id=station.id, partner_id=partner.id, enabled=True)
    return SimpleNamespace(
        find_partnership=lambda s, p: link,
        stations={station.id: station},
        partners={partner.id: partner},
    )


async def resolve(keys: Keys) -> Any:
    return await resolve_sides(config(), keys, "MYCO", "acme", None,  # type: ignore[arg-type]
                               async_mdn_url=None, at=NOW)  # fmt: skip


async def test_a_missing_partner_certificate_is_asked_for_once_more() -> None:
    ours = certificate("myco", "own")
    theirs = certificate("acme", "partner")
    keys = Keys(KeyRing([ours], []), KeyRing([ours, theirs], []))
    sides = await resolve(keys)
    assert sides.remote.encrypt_cert == theirs.cert_pem.encode()
    assert keys.asked_fresh == 1


async def test_a_certificate_really_missing_still_fails_with_its_reason() -> None:
    ours = certificate("myco", "own")
    keys = Keys(KeyRing([ours], []), KeyRing([ours], []))
    with pytest.raises(CertificateUnavailableError, match="CERT_NOT_FOUND"):
        await resolve(keys)
    assert keys.asked_fresh == 1
