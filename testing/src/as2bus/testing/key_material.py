"""Key material for tests of our key-cache port: a real self-signed certificate as cert-svc
would hand it out, and a fake cache that is stale until asked for a fresh ring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import CertificateBuilder, Name, NameAttribute, random_serial_number
from cryptography.x509.oid import NameOID

from as2bus.contracts import KeyMaterialEntry
from as2bus.contracts.certs import CertKind
from as2bus.shared.keyring import KeyRing


def certificate_entry(alias: str, kind: CertKind, now: datetime | None = None) -> KeyMaterialEntry:
    """An entry in service from a day before ``now`` to 30 days after (no private key)."""
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = Name([NameAttribute(NameOID.COMMON_NAME, alias)])
    start, end = now - timedelta(days=1), now + timedelta(days=30)
    cert = (
        CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(random_serial_number()).not_valid_before(start).not_valid_after(end)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return KeyMaterialEntry(
        id=uuid.uuid4(), alias=alias, kind=kind, subject=f"CN={alias}",
        issuer=f"CN={alias}", serial="1", fingerprint_sha256=alias, not_before=start,
        not_after=end, activation_at=start,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )  # fmt: skip


class StaleKeys:
    """KeyMaterialClient's face: ``stale`` until asked for a fresh ring, which is ``fresh``."""

    def __init__(self, stale: KeyRing, fresh: KeyRing) -> None:
        self.stale, self.fresh, self.asked_fresh = stale, fresh, 0

    async def keyring(self, *, fresh: bool = False) -> KeyRing:
        self.asked_fresh += fresh
        return self.fresh if fresh else self.stale

    def private_key_pem(self, entry: KeyMaterialEntry) -> bytes:
        return b"-----BEGIN PRIVATE KEY-----"
