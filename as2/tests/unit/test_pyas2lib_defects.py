"""pyas2lib 1.4.4's defects, each shown on pyas2lib itself (the "canary": it fails if pyas2lib
is fixed) next to what our codec does. pyas2lib is no longer under our codec, but it is our
reference peer and many partners run on it or its kind: these are the cases where we answer
differently, and why. Inputs come from openssl where a partner would send them."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from asn1crypto import cms as asn1_cms

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2 import cms as our_cms
from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme, SigningAlg
from as2bus.peers import pyas2lib_peer

from .conftest import (
    CRLF_EDI,
    EDI,
    ENVELOPED,
    OpensslPeer,
    as2_headers,
    make_pair,
    openssl,
    receive,
    replace,
    smime_split,
)

pyas2 = pyas2lib_peer.pyas2
pyas2_cms = pyas2lib_peer.pyas2_cms


def pyas2lib_parse(
    bob: LocalParty, alice: RemoteParty, headers: dict[str, str], body: bytes
) -> Any:
    """pyas2lib's own Message.parse, as a pyas2lib-based receiver would run it."""
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n" + body
    message = pyas2.Message()
    status, (error, _), _ = message.parse(
        raw,
        find_org_partner_cb=lambda _o, _p: (
            pyas2lib_peer.to_organization(bob),
            pyas2lib_peer.to_partner(alice),
        ),
    )
    return status, error, message


def recipient_algorithm(der: bytes) -> str:
    info = asn1_cms.ContentInfo.load(der)
    return str(
        info["content"]["recipient_infos"][0].chosen["key_encryption_algorithm"]["algorithm"].native
    )


def test_base64_body_whose_inner_part_has_no_transfer_encoding(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    """pyas2lib copies the outer Content-Transfer-Encoding (base64) onto an inner part that has
    none, decodes the EDI text as base64, and reports processed. Our MIME layer never lets an
    outer header apply inside."""
    entity = peer.entity(CRLF_EDI, cte=None)
    signed = peer.sign(entity, binary=False)  # the notes' recipe: text mode, CRLF
    smime_headers, body = smime_split(peer.encrypt(signed, outform="SMIME"))
    headers = as2_headers(smime_headers["Content-Type"], cte="base64")
    status, error, message = pyas2lib_parse(bob, alice_as_seen_by_bob, headers, body)
    assert (status, error) == ("processed", None)  # canary: reported as a success...
    assert message.payload.get_payload(decode=True) != CRLF_EDI  # ...with the document corrupted
    got = receive(bob, alice_as_seen_by_bob, headers, body)
    assert got.payload == CRLF_EDI
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)


def test_a_text_plain_document_is_delivered_without_its_mime_headers(
    bob: LocalParty, bob_keys: Any, alice_as_seen_by_bob: RemoteParty
) -> None:
    """pyas2lib delivers a text/plain part (encrypted, unsigned) with its MIME headers inside."""
    entity = b"Content-Type: text/plain\r\n\r\nhello world\r\n"
    body = our_cms.encrypt(entity, EncryptionAlg.AES256, bob_keys.cert_pem)
    alice = replace(alice_as_seen_by_bob, require_signed=False)
    _, _, message = pyas2lib_parse(bob, alice, as2_headers(ENVELOPED), body)
    assert message.payload.get_payload(decode=True) == entity  # canary
    assert receive(bob, alice, as2_headers(ENVELOPED), body).payload == b"hello world\r\n"


def test_building_keeps_line_ends_of_any_content_type(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """pyas2lib's Message.build turns LF into CRLF for every type but octet-stream (measured
    while building this codec; not in the notes). Ours sends the payload as binary."""
    xml = b"<?xml version='1.0'?>\n<po/>\n"
    message = pyas2.Message(
        pyas2lib_peer.to_organization(alice), pyas2lib_peer.to_partner(bob_as_seen_by_alice)
    )
    message.build(xml, content_type="application/xml")
    theirs = pyas2lib_peer.to_outgoing(message)
    lookup = lambda _f, _t: (bob, alice_as_seen_by_bob)  # noqa: E731
    assert as2.parse_message(theirs.headers, theirs.body, lookup=lookup).payload != xml  # canary
    ours = as2.build_message(
        xml, sender=alice, receiver=bob_as_seen_by_alice, content_type="application/xml"
    )
    assert as2.parse_message(ours.headers, ours.body, lookup=lookup).payload == xml


def test_rsaes_oaep_with_sha256_is_decrypted(
    peer: OpensslPeer, bob: LocalParty, bob_keys: Any, alice_as_seen_by_bob: RemoteParty
) -> None:
    """pyas2lib (oscrypto) unwraps OAEP only with SHA-1; ours uses cryptography for SHA-2."""
    entity = peer.sign(peer.entity())
    for md in ("sha256", "sha512"):
        der = peer.encrypt(entity, "aes256", "bob", "rsa_padding_mode:oaep", f"rsa_oaep_md:{md}")
        assert recipient_algorithm(der) == "rsaes_oaep"
        with pytest.raises(pyas2.AS2Exception if hasattr(pyas2, "AS2Exception") else Exception):
            pyas2_cms.decrypt_message(der, pyas2lib_peer.private_key(bob_keys))  # canary
        assert receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), der).payload == EDI
    sha1 = peer.encrypt(entity, "aes256", "bob", "rsa_padding_mode:oaep")
    assert receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), sha1).payload == EDI


def test_only_the_first_recipient_is_tried(
    peer: OpensslPeer, bob: LocalParty, bob_keys: Any, alice_as_seen_by_bob: RemoteParty
) -> None:
    """A message encrypted for two certificates (a sender that also encrypts to itself)."""
    other = make_pair("x")  # RecipientInfos is a DER SET, sorted by encoding: "x" comes first
    peer.write("x.pem", other.cert_pem)
    der = peer.encrypt(peer.sign(peer.entity()), "aes128", "x", "bob")
    first = asn1_cms.ContentInfo.load(der)["content"]["recipient_infos"][0].chosen["rid"]
    assert first.chosen["issuer"].native["common_name"] == "x"
    with pytest.raises(Exception, match="decrypt"):
        pyas2_cms.decrypt_message(der, pyas2lib_peer.private_key(bob_keys))  # canary
    assert receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), der).payload == EDI


def test_oaep_for_sending_is_ignored_by_pyas2lib_and_we_write_it_when_set(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    """Partner.key_enc_alg="rsaes_oaep" is ignored by Message.build. Ours writes PKCS#1 v1.5
    unless the partner is set to OAEP-SHA256."""
    partner = pyas2lib_peer.to_partner(bob_as_seen_by_alice)
    partner.key_enc_alg = "rsaes_oaep"
    message = pyas2.Message(pyas2lib_peer.to_organization(alice), partner)
    message.build(b"x")
    assert recipient_algorithm(message.content) == "rsaes_pkcs1v15"  # canary
    sent = as2.build_message(b"x", sender=alice, receiver=bob_as_seen_by_alice)
    assert recipient_algorithm(sent.body) == "rsaes_pkcs1v15"
    oaep = replace(bob_as_seen_by_alice, key_transport=KeyTransport.RSA_OAEP_SHA256)
    sent = as2.build_message(b"x", sender=alice, receiver=oaep)
    assert recipient_algorithm(sent.body) == "rsaes_oaep"


def test_pss_signatures_from_pyas2lib_fail_openssl_and_ours_carry_their_parameters(
    peer: OpensslPeer, alice: LocalParty, alice_keys: Any, bob_as_seen_by_alice: RemoteParty
) -> None:
    content = peer.entity()
    pss = pyas2_cms.sign_message(
        content, "sha256", pyas2lib_peer.private_key(alice_keys), "rsassa_pss"
    )
    openssl(
        "cms", "-verify", "-binary", "-content", peer.write("c.bin", content),
        "-in", peer.write("pss.der", pss), "-inform", "DER",
        "-CAfile", peer.path("alice.pem"), "-purpose", "any", ok=False,
    )  # fmt: skip  # canary: no RSASSA-PSS-params
    signature = our_cms.sign(content, SigningAlg.SHA256, alice_keys)
    signer = asn1_cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
    assert signer["signature_algorithm"].signature_algo == "rsassa_pkcs1v15"  # the default
    ours = our_cms.sign(content, SigningAlg.SHA256, alice_keys, SignatureScheme.PSS)
    openssl(
        "cms", "-verify", "-binary", "-content", peer.write("c.bin", content),
        "-in", peer.write("ours.der", ours), "-inform", "DER",
        "-CAfile", peer.path("alice.pem"), "-purpose", "any",
    )  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [(), ("-keyopt", "rsa_pss_saltlen:max"), ("-keyopt", "rsa_mgf1_md:sha256")],
    ids=["default", "max-salt", "mgf1-differs"],
)
def test_incoming_pss_signatures_from_openssl_verify(
    peer: OpensslPeer,
    bob: LocalParty,
    alice_keys: Any,
    alice_as_seen_by_bob: RemoteParty,
    options: tuple[str, ...],
) -> None:
    """openssl writes PSS parameters; pyas2lib ignores them, so an MGF1 hash other than the
    digest never verifies there. We verify with the parameters given."""
    entity = peer.entity()
    signed = peer.sign(entity, "sha512", "-keyopt", "rsa_padding_mode:pss", *options)
    got = receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), peer.encrypt(signed))
    assert (got.payload, got.mic) == (EDI, as2.compute_mic(entity, SigningAlg.SHA512))
    boundary = re.search(rb'boundary="([^"]+)"', signed).group(1)  # type: ignore[union-attr]
    signature = base64.b64decode(signed.split(b"--" + boundary)[2].split(b"\n\n", 1)[1])

    def verify() -> str:
        cert = pyas2lib_peer.certificate(alice_keys.cert_pem)
        return str(pyas2_cms.verify_message(entity, signature, cert))

    if "rsa_mgf1_md:sha256" in options:
        with pytest.raises(pyas2.IntegrityError):
            verify()  # canary
    else:
        assert verify() == "sha512"


def test_aes_gcm_is_beyond_pyas2lib_and_we_read_it(
    peer: OpensslPeer, bob: LocalParty, bob_keys: Any, alice_as_seen_by_bob: RemoteParty
) -> None:
    der = peer.encrypt(peer.sign(peer.entity()), "aes-256-gcm")
    with pytest.raises(Exception, match="Encrypted data not found"):
        pyas2_cms.decrypt_message(der, pyas2lib_peer.private_key(bob_keys))  # canary: says nothing
    got = receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), der)
    assert (got.payload, got.encrypted) == (EDI, True)


def multipart_mixed() -> bytes:
    return (
        b'Content-Type: multipart/mixed; boundary="parts"\r\n\r\n--parts\r\n'
        b'Content-Type: application/edi-x12\r\nContent-Disposition: attachment; filename="a.x12"'
        b"\r\n\r\nISA*01~\r\n--parts\r\nContent-Type: application/edi-x12\r\n"
        b'Content-Disposition: attachment; filename="b.x12"\r\n\r\nISA*02~\r\n--parts--\r\n'
    )


def test_a_signed_multipart_mixed_is_refused_clearly(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    """pyas2lib picks the last attachment as the signed content and reports a bad signature.
    We verify the signature over the whole multipart, then refuse: one document per message."""
    body = peer.encrypt(peer.sign(multipart_mixed()))
    status, error, _ = pyas2lib_parse(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert status != "processed"
    assert isinstance(error, pyas2.IntegrityError)  # canary: "the signature is wrong"
    with pytest.raises(as2.As2Error, match=r"multipart/mixed.*one document per message") as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert err.value.modifier == "unexpected-processing-error"


def test_an_unsigned_multipart_mixed_is_refused_not_delivered_empty(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = peer.encrypt(multipart_mixed())
    alice = replace(alice_as_seen_by_bob, require_signed=False, signing=None)  # pyas2lib: sign
    status, _, message = pyas2lib_parse(bob, alice, as2_headers(ENVELOPED), body)
    assert (status, message.payload.get_payload(decode=True)) == ("processed", None)  # canary
    with pytest.raises(as2.As2Error, match="multipart/mixed"):
        receive(bob, alice, as2_headers(ENVELOPED), body)
