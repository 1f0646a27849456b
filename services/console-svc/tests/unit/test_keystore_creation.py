"""Create Cert's order of cert-svc calls (keystore_creation.py): whatever can be refused is
refused before anything is stored; a partner certificate cert-svc holds is not sent again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from as2bus.console.adapters.backends import BackendError, Change
from as2bus.console.adapters.cert_service import CertClient, Upload
from as2bus.console.adapters.keystore_creation import NewKeystore, create_keystore

from .cert_fakes import FakeCert, certificate_view, partner_pem

NOW = datetime.now(UTC)


def new(**fields: Any) -> NewKeystore:
    defaults: dict[str, Any] = {
        "station": "MYCO",
        "partner": "ACME",
        "own": "generate",
        "password": "keystore-secret",
        "private_key_alias": "",
        "partner_cert_alias": "acme",
        "partner_certificate": Upload("acme.cer", partner_pem()),
    }
    return NewKeystore(**{**defaults, **fields})


def held(cert: FakeCert, state: str) -> None:
    fingerprint = x509.load_pem_x509_certificate(partner_pem()).fingerprint(hashes.SHA256())
    cert.certificates.append(
        certificate_view(
            "acme", "partner", 300, state=state, fingerprint_sha256=fingerprint.hex(":").upper()
        )
    )


async def test_the_keystore_first_then_the_partner_certificate() -> None:
    cert = FakeCert()
    outcome = await create_keystore(CertClient(cert, "a@example.com"), new(), NOW)
    assert outcome.keystore_id is not None
    assert [c[1] for c in cert.changes] == ["/api/v1/keystores", "/api/v1/certificates/partner"]
    assert "private_key_alias" not in cert.changes[0][3]["json"]  # empty: cert-svc's default


async def test_a_partner_certificate_held_already_is_not_sent_again() -> None:
    cert = FakeCert()
    held(cert, "active")
    outcome = await create_keystore(CertClient(cert, "a@example.com"), new(), NOW)
    assert outcome.keystore_id is not None
    assert [c[1] for c in cert.changes] == ["/api/v1/keystores"]


async def test_cert_svc_going_away_after_the_keystore_is_reported_not_raised() -> None:
    class GoneAfterKeystore(FakeCert):
        async def change(self, method: str, path: str, *, actor: str, **kwargs: Any) -> Change:
            if path == "/api/v1/certificates/partner":
                raise BackendError("cert-svc cannot be reached just now (timeout)")
            return await super().change(method, path, actor=actor, **kwargs)

    outcome = await create_keystore(CertClient(GoneAfterKeystore(), "a@example.com"), new(), NOW)
    assert outcome.keystore_id is not None
    assert outcome.partner_refused == "cert-svc cannot be reached just now (timeout)"


async def test_refusals_come_before_anything_is_stored() -> None:
    retired = FakeCert()
    held(retired, "retired")
    cases = [
        (retired, new(), "partner_file", "is retired: ask the partner for its current one"),
        (
            FakeCert(),
            new(partner_certificate=None),
            "partner_file",
            "cert-svc holds none in service under the alias 'acme'",
        ),
        (FakeCert(), new(partner_cert_alias="ac me"), "partner_cert_alias", "no spaces"),
        (FakeCert(), new(own="import"), "file", "choose our PKCS#12 file"),
        (FakeCert(), new(password=""), "password", "give the password"),
    ]
    for cert, asked, field, words in cases:
        outcome = await create_keystore(CertClient(cert, "a@example.com"), asked, NOW)
        assert outcome.keystore_id is None
        assert words in outcome.problems.of(asked.form, field), (field, outcome.problems)
        assert cert.changes == []
