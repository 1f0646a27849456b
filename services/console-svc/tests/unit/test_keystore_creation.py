"""Create Cert's one cert-svc call (keystore_creation.py): the keystore with the partner's
certificate (JSON for option A, multipart for option B), cert-svc's refusal of the certificate
shown next to the partner file field, and what the form lacks refused before any call."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from as2bus.console.adapters.backends import Change
from as2bus.console.adapters.cert_service import CertClient, Upload
from as2bus.console.keystore_creation import (
    NewKeystore,
    create_keystore,
    partner_certificate_text,
)

from .cert_fakes import NEW_KEYSTORE, FakeCert, certificate_view, partner_pem

P12 = Upload("ours.p12", b"\x30\x82p12", "application/x-pkcs12")


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


def partner_der() -> bytes:
    cert = x509.load_pem_x509_certificate(partner_pem())
    return cert.public_bytes(serialization.Encoding.DER)


async def test_option_a_is_one_call_with_the_partner_certificate() -> None:
    cert = FakeCert()
    outcome = await create_keystore(CertClient(cert, "a@example.com"), new())
    assert outcome.keystore_id == NEW_KEYSTORE
    ((method, path, actor, sent),) = cert.changes
    assert (method, path, actor) == ("POST", "/api/v1/keystores", "a@example.com")
    assert sent["json"] == {
        "station": "MYCO",
        "partner": "ACME",
        "password": "keystore-secret",
        "own_key": "generate",
        "partner_cert_alias": "acme",
        "partner_certificate": partner_pem().decode(),  # PEM: its text as it is
    }  # no private_key_alias: empty, cert-svc's default


def test_a_der_certificate_goes_in_base64_a_pem_one_as_text() -> None:
    der = partner_der()
    assert base64.b64decode(partner_certificate_text(Upload("acme.der", der))) == der
    assert partner_certificate_text(Upload("acme.pem", partner_pem())) == partner_pem().decode()
    # Not text, or text without a PEM label: its bytes, for cert-svc to judge.
    for data in (b"\xff\xfe-----BEGIN CERTIFICATE-----", b"hello"):
        assert base64.b64decode(partner_certificate_text(Upload("a.cer", data))) == data


async def test_option_b_is_one_call_with_the_partner_file_part() -> None:
    cert = FakeCert()
    asked = new(own="import", p12=P12, key_alias="myco-2026",
                partner_certificate=Upload("acme.der", partner_der()))  # fmt: skip
    outcome = await create_keystore(CertClient(cert, "a@example.com"), asked)
    assert outcome.keystore_id == NEW_KEYSTORE
    ((method, path, _, sent),) = cert.changes
    assert (method, path) == ("POST", "/api/v1/keystores/import")
    assert sent["data"] == {
        "station": "MYCO",
        "partner": "ACME",
        "password": "keystore-secret",
        "partner_cert_alias": "acme",
        "key_alias": "myco-2026",
    }
    assert sent["files"]["file"][:2] == ("ours.p12", b"\x30\x82p12")
    assert sent["files"]["partner_file"][:2] == ("acme.der", partner_der())


@pytest.mark.parametrize("state", ["active", "pending"])
async def test_without_a_file_the_partner_certificate_held_is_used(state: str) -> None:
    cert = FakeCert()
    cert.certificates.append(certificate_view("acme", "partner", 300, state=state))
    for asked in (new(partner_certificate=None),
                  new(own="import", p12=P12, partner_certificate=None)):  # fmt: skip
        outcome = await create_keystore(CertClient(cert, "a@example.com"), asked)
        assert outcome.keystore_id == NEW_KEYSTORE
        sent = cert.changes.pop()[3]
        assert "partner_certificate" not in sent.get("json", {})
        assert "partner_file" not in sent.get("files", {})


@pytest.mark.parametrize(
    ("asked", "path", "field"),
    [
        (new(), "/api/v1/keystores", "partner_certificate"),
        (new(own="import", p12=P12), "/api/v1/keystores/import", "partner_file"),
    ],
)
async def test_a_refused_partner_certificate_is_shown_next_to_the_partner_file(
    asked: NewKeystore, path: str, field: str
) -> None:
    cert = FakeCert()
    sentence = "acme.cer's public key is a 2048-bit key; at least 3072 bits required"
    refusal = {"detail": [{"loc": ["body", field], "msg": sentence, "type": "value_error"}]}
    cert.answers[path] = Change(422, refusal, {field: sentence})
    outcome = await create_keystore(CertClient(cert, "a@example.com"), asked)
    assert outcome.keystore_id is None
    assert outcome.problems.of(asked.form, "partner_file") == sentence
    assert outcome.problems.of(asked.form, "") == ""  # not above the form
    assert [c[1] for c in cert.changes] == [path]  # nothing else called


async def test_what_the_form_lacks_is_refused_before_any_call() -> None:
    retired = FakeCert()
    retired.certificates.append(certificate_view("acme", "partner", 300, state="retired"))
    cases = [
        (
            retired,
            new(partner_certificate=None),
            "partner_file",
            "cert-svc holds none in service under the alias 'acme'",
        ),
        (FakeCert(), new(partner_cert_alias="ac me"), "partner_cert_alias", "no spaces"),
        (FakeCert(), new(private_key_alias="my co"), "private_key_alias", "no spaces"),
        (FakeCert(), new(own="import"), "file", "choose our PKCS#12 file"),
        (FakeCert(), new(password=""), "password", "give the password"),
    ]
    for cert, asked, field, words in cases:
        outcome = await create_keystore(CertClient(cert, "a@example.com"), asked)
        assert outcome.keystore_id is None
        assert words in outcome.problems.of(asked.form, field), (field, outcome.problems)
        assert cert.changes == []
