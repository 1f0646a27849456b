"""A partner's certificate out of the files partners and older gateways (OpenAS2, Mendelson)
hand over: PKCS#12 keystores by entry, chains and PKCS#7 bundles."""

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from as2bus.cert.partner_files import load_partner_certificate
from as2bus.cert.x509 import CertificateError, OwnKey, cert_info

MakeCert = Callable[..., x509.Certificate]
PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER


def raises(field: str, match: str, code: str) -> pytest.RaisesExc[CertificateError]:
    return pytest.raises(
        CertificateError, match=match, check=lambda e: (e.field, e.code) == (field, code)
    )


def cert_of(own: OwnKey) -> x509.Certificate:
    return x509.load_pem_x509_certificate(own.cert.cert_pem.encode())


def key_of(own: OwnKey) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(own.key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]


@pytest.fixture(scope="module")
def chain(rsa_keys: list[rsa.RSAPrivateKey], make_cert: MakeCert) -> list[x509.Certificate]:
    """A partner's certificate and its issuing CA, as partnerc-chain.pem holds them."""
    ca_key, leaf_key, _ = rsa_keys
    ca = make_cert(ca_key, "PartnerC Issuing CA", ca=True)
    leaf = make_cert(leaf_key, "partnerc AS2", issuer_key=ca_key, issuer_cn="PartnerC Issuing CA")
    return [leaf, ca]


@pytest.fixture(scope="module")
def as2_certs(own: OwnKey, partner: OwnKey, chain: list[x509.Certificate]) -> bytes:
    """Like OpenAS2's as2_certs.p12 (keytool): our key under mycompany, partners' certificates
    under partnera and partnerc, password testas2."""
    partners = [
        pkcs12.PKCS12Certificate(cert_of(partner), b"partnera"),
        pkcs12.PKCS12Certificate(chain[0], b"partnerc"),
    ]
    encryption = serialization.BestAvailableEncryption(b"testas2")
    return pkcs12.serialize_key_and_certificates(
        b"mycompany", key_of(own), cert_of(own), partners, encryption
    )


# --- PKCS#12: an entry of a keystore ------------------------------------------------------------


def test_the_named_entry_of_an_openas2_keystore_is_taken(
    as2_certs: bytes, partner: OwnKey, chain: list[x509.Certificate]
) -> None:
    found = load_partner_certificate(
        as2_certs, name="as2_certs.p12", password="testas2", entry="partnerc"
    )
    assert found.cert == cert_info(chain[0])
    assert found.notes == []
    # keytool shows aliases in lower case; a name typed otherwise is found all the same
    by_other_case = load_partner_certificate(as2_certs, password="testas2", entry="PartnerA")
    assert by_other_case.cert == partner.cert


def test_without_an_entry_the_error_lists_the_entries(as2_certs: bytes) -> None:
    with raises("entry", r"^as2_certs.p12 holds 2 certificate entries \(partnera, partnerc\): "
                r"name the partner's \(the console's entry field; as2bus: --entry NAME\)$",
                "entry_required"):  # fmt: skip
        load_partner_certificate(as2_certs, name="as2_certs.p12", password="testas2")


@pytest.mark.parametrize(
    ("entry", "match", "code"),
    [
        ("mycompany", "entry 'mycompany' holds a private key, not a partner's certificate; "
                      "the certificate entries of the file are: partnera, partnerc",
         "entry_holds_a_key"),
        ("partnerb", "no entry 'partnerb' in the file; its certificate entries are: partnera, "
                     "partnerc", "entry_not_found"),
    ],
)  # fmt: skip
def test_an_entry_that_is_no_partner_certificate(
    as2_certs: bytes, entry: str, match: str, code: str
) -> None:
    with raises("entry", match, code):
        load_partner_certificate(as2_certs, password="testas2", entry=entry)


def test_a_wrong_password_is_said_so(as2_certs: bytes) -> None:
    with raises("password", "wrong password for this PKCS#12 file", "wrong_password"):
        load_partner_certificate(as2_certs, password="wrong", entry="partnera")


def test_without_the_password_the_hint_names_entry_and_keytool(as2_certs: bytes) -> None:
    with pytest.raises(CertificateError) as refused:
        load_partner_certificate(as2_certs, name="as2_certs.p12")
    assert refused.value.message == (
        "as2_certs.p12 is a PKCS#12 keystore holding a private key: to upload one of its "
        "partner certificates, give the file's password and the entry's name (as2bus cert "
        "upload-partner as2_certs.p12 --alias ALIAS --entry NAME --password ...), or take it "
        "out with 'keytool -exportcert -rfc -keystore as2_certs.p12 -storetype PKCS12 -alias "
        "NAME -file partner.pem'"
    )


def test_a_certificates_only_file_hints_cacerts_and_its_only_entry_is_taken(
    partner: OwnKey,
) -> None:
    one = pkcs12.PKCS12Certificate(cert_of(partner), b"partnera")
    data = pkcs12.serialize_java_truststore([one], serialization.BestAvailableEncryption(b"pw"))
    with raises("file", "-nokeys -cacerts -out partner.pem", "pkcs12_upload"):
        load_partner_certificate(data, name="partnera-only.p12")
    found = load_partner_certificate(data, name="partnera-only.p12", password="pw")
    assert (found.cert, found.notes) == (partner.cert, [])


def test_an_entry_name_for_a_file_that_has_none(partner: OwnKey) -> None:
    with raises("entry", "partnera.pem is not a PKCS#12 keystore", "not_a_keystore"):
        load_partner_certificate(partner.cert.cert_pem.encode(), name="partnera.pem", entry="x")


# --- chains and PKCS#7 ----------------------------------------------------------------------------


def _chain_note(name: str) -> str:
    return (
        f"{name} also held 1 issuing certificate (CN=PartnerC Issuing CA), not kept: as2bus "
        "pins the partner's own certificate, not its chain"
    )


@pytest.mark.parametrize("order", [1, -1])
def test_a_pem_chain_gives_its_end_entity_certificate(
    chain: list[x509.Certificate], order: int
) -> None:
    data = b"".join(c.public_bytes(PEM) for c in chain[::order])
    found = load_partner_certificate(data, name="partnerc-chain.pem")
    assert found.cert == cert_info(chain[0])
    assert found.notes == [_chain_note("partnerc-chain.pem")]


@pytest.mark.parametrize("encoding", [PEM, DER])
def test_a_pkcs7_bundle_gives_its_end_entity_certificate(
    chain: list[x509.Certificate], encoding: serialization.Encoding
) -> None:
    data = pkcs7.serialize_certificates(chain[::-1], encoding)
    found = load_partner_certificate(data, name="partnerc.p7b")
    assert found.cert == cert_info(chain[0])
    assert found.notes == [_chain_note("partnerc.p7b")]


def test_unrelated_certificates_are_ambiguous(own: OwnKey, partner: OwnKey) -> None:
    data = (partner.cert.cert_pem + own.cert.cert_pem).encode()
    with raises("file", r"^both.pem holds 2 certificates and more than one could be the "
                r"partner's own \(CN=PARTNER; CN=MYCO,O=My Co\): upload the partner's own "
                r"certificate alone$", "not_one_certificate"):  # fmt: skip
        load_partner_certificate(data, name="both.pem")


def test_the_same_certificate_twice_is_one(partner: OwnKey) -> None:
    found = load_partner_certificate((partner.cert.cert_pem * 2).encode())
    assert (found.cert, found.notes) == (partner.cert, [])
