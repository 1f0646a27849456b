"""Moving from OpenAS2 or Mendelson: our key and the partners' certificates come from their
keystore (as2_certs.p12: our key under mycompany, partners' certificates under their aliases,
password testas2). On SQLite and PostgreSQL. Station MYCO's key alias is 'myco'; partners A
and B (aliases 'a', 'b') are paired with it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from as2bus.cert import x509
from as2bus.cert.keystores import Keystores
from as2bus.cert.schemas import KeystoreCreate, KeystoreView
from as2bus.cert.service import CertService
from as2bus.shared.errors import ConflictError, InvalidFieldsError

from .conftest import Clock

OPENAS2_PASSWORD = "testas2"  # OpenAS2's default, shorter than an export password may be
EXPORT_PASSWORD = "export-pass-123"


@pytest.fixture(scope="module")
def as2_certs() -> bytes:
    """As keytool writes OpenAS2's keystore: our key, then two partners' certificates."""
    now = Clock()()
    ours = x509.generate_self_signed("MyCompany", now=now)
    key = serialization.load_pem_private_key(ours.key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    partners = [
        pkcs12.PKCS12Certificate(
            cx509.load_pem_x509_certificate(
                x509.generate_self_signed(name, now=now).cert.cert_pem.encode()
            ),
            name.encode(),
        )
        for name in ("partnera", "partnerb")
    ]
    return pkcs12.serialize_key_and_certificates(
        b"mycompany",
        key,
        cx509.load_pem_x509_certificate(ours.cert.cert_pem.encode()),
        partners,
        serialization.BestAvailableEncryption(OPENAS2_PASSWORD.encode()),
    )


async def import_keystore(
    stores: Keystores, partner: str, data: bytes, **options: Any
) -> KeystoreView:
    return await stores.import_(
        "MYCO", partner, data, OPENAS2_PASSWORD, None, options.pop("private_key_alias", None),
        None, False, "as2_certs.p12", options.pop("partner_certificate", None), **options,
    )  # fmt: skip


async def test_our_key_comes_from_the_keystore_and_the_partner_entries_are_named(
    certs: CertService, as2_certs: bytes
) -> None:
    view = await certs.import_own(
        "myco", as2_certs, OPENAS2_PASSWORD, None, filename="as2_certs.p12"
    )
    assert view.warnings == [
        "as2_certs.p12's certificate entries partnera, partnerb were not imported (only our key "
        "is): upload each partner's with as2bus cert upload-partner as2_certs.p12 --alias "
        "ALIAS --entry NAME --password ..."
    ]
    partner = await certs.upload_partner(
        "acme", as2_certs, filename="as2_certs.p12", password=OPENAS2_PASSWORD, entry="partnerb"
    )
    assert (partner.subject, partner.used_by.partners, partner.warnings) == (
        "CN=partnerb",
        ["acme"],
        [],
    )


async def test_a_stray_copy_of_our_key_is_said_so_and_can_be_deleted(
    certs: CertService, as2_certs: bytes
) -> None:
    stray = await certs.import_own("legacytest", as2_certs, OPENAS2_PASSWORD, "mycompany")
    assert stray.warnings[-1] == (
        "no station or keystore uses the key alias 'legacytest' yet: messages are signed with "
        "the key under their keystore's key alias, else their station's (private_key_alias); "
        "as inbound-svc's HTTPS key (AS2BUS_INBOUND_TLS_KEY_ALIAS) it is in its place"
    )
    mis_cased = await certs.import_own("MYCO", as2_certs, OPENAS2_PASSWORD, None)
    assert mis_cased.warnings[-1] == (
        "no station or keystore uses the key alias 'MYCO': station MYCO's key alias is 'myco'"
    )
    await certs.delete(stray.id)
    await certs.delete(mis_cased.id)
    assert await certs.list_certificates(None, None) == []


async def test_the_stations_key_imported_after_a_keystore_made_its_own_says_so(
    keystores: Keystores, as2_certs: bytes
) -> None:
    created = KeystoreCreate.model_validate(
        {"station": "MYCO", "partner": "acme", "password": EXPORT_PASSWORD}
    )
    assert (await keystores.create(created)).private_key_alias == "myco@acme"
    view = await keystores.certs.import_own("myco", as2_certs, OPENAS2_PASSWORD, None)
    assert view.warnings[-1] == (
        "partnership MYCO:acme ('myco@acme') signs and decrypts with its keystore's key, not "
        "with this one"
    )


async def test_one_key_from_openas2_serves_two_partnerships_with_its_own_export_password(
    two_partnerships: Keystores, as2_certs: bytes
) -> None:
    stores = two_partnerships
    first = await import_keystore(
        stores, "A", as2_certs, private_key_alias="mycompany", export_password=EXPORT_PASSWORD
    )
    second = await import_keystore(
        stores, "B", as2_certs, private_key_alias="mycompany", export_password=EXPORT_PASSWORD
    )
    assert [v.private_key_alias for v in (first, second)] == ["mycompany", "mycompany"]
    assert second.warnings[-1] == (
        "this key is already stored under the alias 'mycompany', so the keystore shares it "
        "rather than storing a copy"
    )
    stored = await stores.certs.list_certificates(None, "own")
    assert [(c.alias, c.used_by.partnerships) for c in stored] == [
        ("mycompany", ["MYCO:A", "MYCO:B"])
    ]
    exported = await stores.export_keystore(first.id)
    assert pkcs12.load_pkcs12(exported, EXPORT_PASSWORD.encode()).key is not None


async def test_a_key_imported_first_is_shared_by_a_keystore_import(
    two_partnerships: Keystores, as2_certs: bytes
) -> None:
    """The order the migration guide gives: our key first, under the station's alias."""
    await two_partnerships.certs.import_own("myco", as2_certs, OPENAS2_PASSWORD, None)
    view = await import_keystore(two_partnerships, "A", as2_certs, export_password=EXPORT_PASSWORD)
    assert view.private_key_alias == "myco"
    assert len(await two_partnerships.certs.list_certificates(None, "own")) == 1


async def test_export_passwords_keep_their_rule_and_the_refusals_name_the_way_out(
    two_partnerships: Keystores, as2_certs: bytes
) -> None:
    with pytest.raises(InvalidFieldsError) as short_file_password:
        await import_keystore(two_partnerships, "A", as2_certs)
    assert short_file_password.value.errors[0].message == (
        "the PKCS#12 password also protects this keystore's exports unless another is given, "
        "and an export password must be at least 8 characters long: give one (as2bus: "
        "--export-password; the file's password then only opens it)"
    )
    with pytest.raises(InvalidFieldsError) as short_export_password:
        await import_keystore(two_partnerships, "A", as2_certs, export_password="short")
    assert short_export_password.value.errors[0].field == "export_password"

    await two_partnerships.certs.import_own("myco", as2_certs, OPENAS2_PASSWORD, None)
    created = KeystoreCreate.model_validate(
        {"station": "MYCO", "partner": "A", "password": EXPORT_PASSWORD}
    )
    with pytest.raises(ConflictError) as in_use:
        await two_partnerships.create(created)
    assert in_use.value.errors[0].message == (
        "partnership MYCO:A already signs and decrypts with the station's key 'myco': keep it "
        "(as2bus keystore create --station MYCO --partner A --own-key existing; API: "
        "own_key=existing), then give the partnership a new key of its own with a rotation "
        "(as2bus keystore rotate MYCO:A)"
    )


async def test_a_keystore_takes_the_partners_certificate_from_an_entry_of_the_same_file(
    two_partnerships: Keystores, as2_certs: bytes
) -> None:
    """One file for both: our key, and partner A's certificate from its entry (import); a
    generated key with partner B's entry from the file in base64 (create). A refusal about the
    partner's file names its own fields, never the keystore's password."""
    stores = two_partnerships
    with pytest.raises(InvalidFieldsError) as refused:
        await import_keystore(stores, "A", as2_certs, export_password=EXPORT_PASSWORD,
                              partner_certificate=(as2_certs, "as2_certs.p12"),
                              partner_password=OPENAS2_PASSWORD)  # fmt: skip
    (error,) = refused.value.errors
    assert (error.field, error.code) == ("partner_file_entry", "entry_required")
    assert "2 certificate entries (partnera, partnerb)" in error.message
    with pytest.raises(InvalidFieldsError) as refused:
        await import_keystore(stores, "A", as2_certs, export_password=EXPORT_PASSWORD,
                              partner_certificate=(as2_certs, "as2_certs.p12"),
                              partner_password="wrong-one", partner_entry="partnera")  # fmt: skip
    assert [e.field for e in refused.value.errors] == ["partner_file_password"]
    assert await stores.certs.list_certificates(None, None) == []  # nothing stored

    imported = await import_keystore(stores, "A", as2_certs, export_password=EXPORT_PASSWORD,
                                     partner_certificate=(as2_certs, "as2_certs.p12"),
                                     partner_password=OPENAS2_PASSWORD,
                                     partner_entry="partnera")  # fmt: skip
    created = await stores.create(KeystoreCreate(
        station="MYCO", partner="B", password=EXPORT_PASSWORD,
        partner_certificate=base64.b64encode(as2_certs).decode(),
        partner_certificate_password=OPENAS2_PASSWORD, partner_certificate_entry="partnerb",
    ))  # fmt: skip
    subjects = {
        view.partner_as2_id: [c.subject for c in view.partner_certificates]
        for view in (imported, created)
    }
    assert subjects == {"A": ["CN=partnera"], "B": ["CN=partnerb"]}
