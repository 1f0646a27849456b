"""The read side on ``cryptography`` alone, against every signature and encryption ``openssl
cms`` makes: digests by PKCS#1 v1.5/PSS, ciphers (3DES, AES-CBC, AES-GCM, RC2) by key transport
(PKCS#1 v1.5, OAEP with SHA-1/256/384/512), recipients and signers named by subject key
identifier. Each message is read in memory and from a file (``same_as_parse_message`` runs
both and compares them field by field)."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty, cms
from as2bus.as2.algorithms import normalize_signing

from .conftest import EDI, ENVELOPED, OpensslPeer, as2_headers, openssl, replace
from .spooled_helpers import (
    TempFiles,
    same_as_parse_message,
    same_failure,
    stream_encrypt,
    watch_temp_files,
)

AUTH_ENVELOPED = 'application/pkcs7-mime; smime-type=authEnveloped-data; name="smime.p7m"'
#: OIDs as they appear in the DER, to see that openssl made what the test asks for.
RSASSA_PSS = bytes.fromhex("06092a864886f70d01010a")
RSAES_OAEP = bytes.fromhex("06092a864886f70d010107")
AUTH_ENVELOPED_DATA = bytes.fromhex("060b2a864886f70d0109100117")
CIPHER_OIDS = {
    "des3": "06082a864886f70d0307",
    "aes-128-cbc": "0609608648016503040102",
    "aes-192-cbc": "0609608648016503040116",
    "aes-256-cbc": "060960864801650304012a",
    "aes-128-gcm": "0609608648016503040106",
    "aes-256-gcm": "060960864801650304012e",
}
TRANSPORTS = {
    "pkcs1v15": (),
    "oaep-sha1": ("rsa_padding_mode:oaep",),
    "oaep-sha256": ("rsa_padding_mode:oaep", "rsa_oaep_md:sha256"),
    "oaep-sha384": ("rsa_padding_mode:oaep", "rsa_oaep_md:sha384"),
    "oaep-sha512": ("rsa_padding_mode:oaep", "rsa_oaep_md:sha512"),
}


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


def content_type_for(cipher: str) -> str:
    return AUTH_ENVELOPED if "gcm" in cipher else ENVELOPED


@pytest.mark.parametrize("scheme", ["pkcs1v15", "pss"])
@pytest.mark.parametrize("md", ["sha1", "sha224", "sha256", "sha384", "sha512"])
def test_every_openssl_signature_verifies_in_memory_and_from_a_file(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, md: str, scheme: str
) -> None:
    entity = peer.entity()
    pss = ("-keyopt", "rsa_padding_mode:pss") if scheme == "pss" else ()
    signed = peer.sign(entity, md, *pss)
    assert (RSASSA_PSS in _signature_der(signed)) == (scheme == "pss")
    got = same_as_parse_message(
        bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), peer.encrypt(signed)
    )
    alg = normalize_signing(md)
    assert (got.payload, got.signed, got.mic_alg) == (EDI, True, alg)
    assert got.mic == as2.compute_mic(entity, alg)
    assert got.verified_by == alice_as_seen_by_bob.verify_certs[0]


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("cipher", list(CIPHER_OIDS))
def test_every_openssl_encryption_decrypts_in_memory_and_from_a_file(
    peer: OpensslPeer,
    bob: LocalParty,
    alice_as_seen_by_bob: RemoteParty,
    cipher: str,
    transport: str,
) -> None:
    entity = peer.entity()
    body = peer.encrypt(peer.sign(entity), cipher, "bob", *TRANSPORTS[transport])
    assert bytes.fromhex(CIPHER_OIDS[cipher]) in body[:1000]
    assert (RSAES_OAEP in body[:1000]) == transport.startswith("oaep")
    assert (AUTH_ENVELOPED_DATA in body[:20]) == ("gcm" in cipher)
    got = same_as_parse_message(
        bob, alice_as_seen_by_bob, as2_headers(content_type_for(cipher)), body
    )
    assert (got.payload, got.encrypted, got.signed) == (EDI, True, True)
    assert got.mic == as2.compute_mic(entity, normalize_signing("sha256"))


@pytest.mark.parametrize("cipher", list(CIPHER_OIDS))
def test_streamed_ber_from_openssl_decrypts_alike(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, cipher: str
) -> None:
    """``-stream``: indefinite lengths, the ciphertext in segments (the mac after them)."""
    body = stream_encrypt(peer.tmp, peer.sign(peer.entity()), cipher)
    assert body[1] == 0x80  # indefinite length: BER
    got = same_as_parse_message(
        bob, alice_as_seen_by_bob, as2_headers(content_type_for(cipher)), body
    )
    assert got.payload == EDI


def _rc2(peer: OpensslPeer, cipher: str) -> bytes:
    return openssl(
        "cms", "-encrypt", "-provider", "legacy", "-provider", "default", f"-{cipher}",
        "-in", peer.write("plain.mime", peer.sign(peer.entity())), "-binary",
        "-outform", "DER", "-recip", peer.path("bob.pem"),
    )  # fmt: skip


def test_rc2_from_a_legacy_partner_is_read(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = _rc2(peer, "rc2")
    assert bytes.fromhex("06082a864886f70d0302") in body[:1000]  # rc2-cbc
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert (got.payload, got.encrypted) == (EDI, True)


@pytest.mark.parametrize(("cipher", "bits"), [("rc2-40", 40), ("rc2-64", 64)])
def test_rc2_weaker_than_128_bits_is_refused_by_name(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, cipher: str, bits: int
) -> None:
    body = _rc2(peer, cipher)
    assert same_failure(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body) == (
        "decryption-failed"
    )
    with pytest.raises(as2.As2Error, match=f"RC2 with a {bits}-bit effective key"):
        as2.parse_message(
            as2_headers(ENVELOPED), body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
        )


@pytest.mark.parametrize("cipher", ["aes-256-cbc", "aes-128-gcm"])
def test_a_recipient_named_by_subject_key_identifier(
    peer: OpensslPeer,
    bob: LocalParty,
    bob_keys: KeyPair,
    bob_keyid_keys: KeyPair,
    stranger_keyid_keys: KeyPair,
    alice_as_seen_by_bob: RemoteParty,
    cipher: str,
) -> None:
    """openssl needs the extension in the certificate; our own certificate may lack it (the
    SHA-1 of the key is what it would hold), either way the RecipientInfo names our key."""
    peer.write("bob.pem", bob_keyid_keys.cert_pem)
    body = openssl(
        "cms", "-encrypt", "-in", peer.write("plain.mime", peer.sign(peer.entity())),
        f"-{cipher}", "-binary", "-outform", "DER", "-recip", peer.path("bob.pem"), "-keyid",
    )  # fmt: skip
    content = asn1_cms.ContentInfo.load(body)["content"]
    rid = content["recipient_infos"][0].chosen["rid"]
    assert rid.name == "subject_key_identifier"
    assert cms.names(rid, bob_keyid_keys.cert_pem)
    assert cms.names(rid, bob_keys.cert_pem)  # no extension: computed
    assert not cms.names(rid, stranger_keyid_keys.cert_pem)
    got = same_as_parse_message(
        bob, alice_as_seen_by_bob, as2_headers(content_type_for(cipher)), body
    )
    assert got.payload == EDI


def test_a_signer_named_by_subject_key_identifier(
    peer: OpensslPeer,
    bob: LocalParty,
    alice_keys: KeyPair,
    alice_keyid_keys: KeyPair,
    stranger_keyid_keys: KeyPair,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    peer.write("alice.pem", alice_keyid_keys.cert_pem)
    signed = peer.sign(peer.entity(), "sha256", "-keyid")
    sid = asn1_cms.ContentInfo.load(_signature_der(signed))["content"]["signer_infos"][0]["sid"]
    assert sid.name == "subject_key_identifier"
    assert cms.names(sid, alice_keys.cert_pem)
    assert cms.names(sid, alice_keyid_keys.cert_pem)
    body = peer.encrypt(signed)
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert got.payload == EDI
    stranger = replace(alice_as_seen_by_bob, verify_certs=[stranger_keyid_keys.cert_pem])
    with pytest.raises(as2.As2Error) as err:
        as2.parse_message(as2_headers(ENVELOPED), body, lookup=lambda _f, _t: (bob, stranger))
    assert err.value.modifier == "authentication-failed"
    ski = bytes(sid.chosen.native).hex()
    assert err.value.reason == (
        f"signed with a certificate we do not have (subject key identifier {ski})"
    )


def _signature_der(signed: bytes) -> bytes:
    """The detached signature of openssl's multipart/signed output."""
    boundary = re.search(rb'boundary="([^"]+)"', signed).group(1)  # type: ignore[union-attr]
    part = signed.split(b"--" + boundary)[2]
    return base64.b64decode(re.split(rb"\r?\n\r?\n", part, maxsplit=1)[1])


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize("where", ["ciphertext", "tag"])
@pytest.mark.parametrize("cipher", ["aes-128-gcm", "aes-256-gcm"])
def test_aes_gcm_with_a_flipped_byte_is_decryption_failed(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, cipher: str, where: str
) -> None:
    """CBC would deliver a changed block as garbage; GCM's tag refuses it, and nothing of the
    plaintext stays behind in a file (the autouse fixture sees every temporary file closed)."""
    body = peer.encrypt(peer.sign(peer.entity()), cipher)
    content = asn1_cms.ContentInfo.load(body)["content"]
    sealed = content["auth_encrypted_content_info"]["encrypted_content"].native
    tag = content["mac"].native
    assert body.endswith(tag)  # the mac is the last field
    at = body.index(sealed) + len(sealed) // 2 if where == "ciphertext" else len(body) - 1
    headers = as2_headers(AUTH_ENVELOPED)
    assert same_failure(bob, alice_as_seen_by_bob, headers, _flip(body, at)) == "decryption-failed"
    with pytest.raises(as2.As2Error) as err:
        as2.parse_message(
            headers, _flip(body, at), lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
        )
    assert err.value.reason == "could not decrypt with any of our 1 key(s) in service"
    got = same_as_parse_message(bob, alice_as_seen_by_bob, headers, body)  # unflipped: fine
    assert got.payload == EDI


def _gcm_with_auth_attrs(content: bytes, recipient: KeyPair) -> bytes:
    """AuthEnvelopedData with authenticated attributes (openssl writes none): they are the
    additional authenticated data, DER with the SET OF tag (RFC 5083 §2.2)."""
    cek, nonce = os.urandom(16), os.urandom(12)
    attrs = asn1_cms.CMSAttributes(
        [
            asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            asn1_cms.CMSAttribute(
                {"type": "signing_time", "values": [asn1_cms.Time({"utc_time": "260102030405Z"})]}
            ),
        ]
    )
    aad = attrs.dump()
    assert aad[0] == 0x31
    sealed = AESGCM(cek).encrypt(nonce, content, aad)
    sealed, mac = sealed[:-16], sealed[-16:]
    cert = cms.asn1_certificate(recipient.cert_pem)
    public = cms.x509_certificate(recipient.cert_pem).public_key()
    params = bytes([0x30, 17, 0x04, 12]) + nonce + bytes([0x02, 0x01, 16])
    recipient_info = asn1_cms.RecipientInfo(
        name="ktri",
        value=asn1_cms.KeyTransRecipientInfo(
            {
                "version": "v0",
                "rid": asn1_cms.RecipientIdentifier(
                    name="issuer_and_serial_number",
                    value=asn1_cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    ),
                ),
                "key_encryption_algorithm": {"algorithm": "rsaes_pkcs1v15"},
                "encrypted_key": public.encrypt(cek, padding.PKCS1v15()),  # type: ignore[union-attr]
            }
        ),
    )
    enveloped = asn1_cms.AuthEnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [recipient_info],
            "auth_encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {
                    "algorithm": "aes128_gcm",
                    "parameters": core.Any.load(params),
                },
                "encrypted_content": sealed,
            },
            "auth_attrs": attrs,
            "mac": mac,
        }
    )
    info = asn1_cms.ContentInfo(
        {"content_type": "authenticated_enveloped_data", "content": enveloped}
    )
    return bytes(info.dump())


def test_aes_gcm_authenticated_attributes_are_part_of_the_tag(
    peer: OpensslPeer, bob: LocalParty, bob_keys: KeyPair, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = _gcm_with_auth_attrs(peer.sign(peer.entity()), bob_keys)
    headers = as2_headers(AUTH_ENVELOPED)
    assert same_as_parse_message(bob, alice_as_seen_by_bob, headers, body).payload == EDI
    changed = body.replace(b"260102030405Z", b"260102030406Z")  # only the attribute
    assert changed != body
    assert same_failure(bob, alice_as_seen_by_bob, headers, changed) == "decryption-failed"
