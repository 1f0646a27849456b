"""Interop with the openssl CLI, an S/MIME implementation we did not write (recipes from
as2-notes.md). openssl's S/MIME parser is not binary-safe, so what we send is checked with
openssl's own parser when the content is CRLF text, and as detached content otherwise."""

from __future__ import annotations

import base64
import email
import hashlib
import re

import pytest

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty
from as2bus.as2.algorithms import Compression, SigningAlg, TransferEncoding, normalize_signing
from as2bus.as2.mic import micalg_name

from .conftest import (
    CRLF_EDI,
    EDI,
    ENVELOPED,
    OpensslPeer,
    as2_headers,
    openssl,
    receive,
    replace,
    smime_split,
)


@pytest.mark.parametrize("md", ["sha256", "sha1", "sha512"])
@pytest.mark.parametrize("cipher", ["des3", "aes128", "aes256"])
def test_openssl_messages_arrive_byte_identical_with_the_right_mic(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, md: str, cipher: str
) -> None:
    """DER body, Content-Transfer-Encoding: binary, content signed as binary."""
    entity = peer.entity()
    body = peer.encrypt(peer.sign(entity, md), cipher)
    got = receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert got.payload == EDI
    assert (got.filename, got.content_type) == ("po.x12", "application/edi-x12")
    assert (got.signed, got.encrypted, got.compressed) == (True, True, False)
    assert got.mic_alg == normalize_signing(md)
    assert got.mic == as2.compute_mic(entity, normalize_signing(md))


def test_the_notes_recipe_text_mode_signing_of_a_crlf_document(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    entity = peer.entity(CRLF_EDI, cte="7bit")
    body = peer.encrypt(peer.sign(entity, "sha256", binary=False))
    got = receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert got.payload == CRLF_EDI
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)


def test_text_mode_signing_of_lf_text_delivers_the_canonical_text_that_was_signed(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    """openssl signed the CRLF form of LF text; the signature covers that form, so that is
    what is delivered (and digested for the MIC)."""
    lf_text = b"line one\nline two\n"
    entity = peer.entity(lf_text, cte="7bit")
    body = peer.encrypt(peer.sign(entity, "sha256", binary=False))
    got = receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert got.payload == b"line one\r\nline two\r\n"
    canonical = re.sub(rb"\r?\n", b"\r\n", entity)
    assert got.mic == as2.compute_mic(canonical, SigningAlg.SHA256)


@pytest.mark.parametrize("inner_cte", ["binary", None], ids=["inner-cte", "no-inner-cte"])
def test_base64_smime_output_with_and_without_an_inner_transfer_encoding(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, inner_cte: str | None
) -> None:
    entity = peer.entity(cte=inner_cte)
    smime_headers, body = smime_split(peer.encrypt(peer.sign(entity), outform="SMIME"))
    assert smime_headers["Content-Transfer-Encoding"] == "base64"
    headers = as2_headers(smime_headers["Content-Type"], cte="base64")
    got = receive(bob, alice_as_seen_by_bob, headers, body)
    assert got.payload == EDI
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)


def test_a_signed_only_message_posted_as_multipart_signed(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    entity = peer.entity()
    smime_headers, body = smime_split(peer.sign(entity, "sha384"))
    unencrypted_ok = replace(alice_as_seen_by_bob, require_encrypted=False)
    got = receive(bob, unencrypted_ok, as2_headers(smime_headers["Content-Type"]), body)
    assert (got.payload, got.signed, got.encrypted) == (EDI, True, False)
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA384)


def test_an_opaque_signed_message_pkcs7_signed_data(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    entity = peer.entity()
    der = peer.sign(entity, "sha256", "-nodetach", "-outform", "DER")
    body = peer.encrypt(
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + der
    )
    got = receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert (got.payload, got.signed) == (EDI, True)
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)


@pytest.mark.parametrize("error", [None, "decryption-failed"])
def test_our_signed_mdn_verifies_with_openssl_and_carries_an_independent_mic(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, error: str | None
) -> None:
    entity = peer.entity()
    headers = as2_headers(ENVELOPED)
    got = receive(bob, alice_as_seen_by_bob, headers, peer.encrypt(peer.sign(entity)))
    request = got if error is None else as2.summarize_request(headers)
    failure = as2.As2Error("decryption-failed", "test") if error else None
    mdn = as2.build_mdn(request, local=bob, error=failure)
    eml = peer.write("mdn.eml", f"Content-Type: {mdn.headers['Content-Type']}\r\n\r\n".encode())
    eml.write_bytes(eml.read_bytes() + mdn.body)
    report = openssl(
        "cms",
        "-verify",
        "-in",
        eml,
        "-inform",
        "SMIME",
        "-CAfile",
        peer.path("bob.pem"),
        "-purpose",
        "any",
    )
    notification = report.split(b"message/disposition-notification", 1)[1].decode()
    fields = dict(re.findall(r"^([\w-]+): (.*?)\r?$", notification, re.M))
    assert fields["Original-Message-ID"] == "<openssl-1@alice>"
    if error is None:
        assert fields["Disposition"].endswith("; processed")
        mic = as2.compute_mic(entity, SigningAlg.SHA256)
        assert fields["Received-Content-MIC"] == f"{mic}, sha-256"
    else:
        assert fields["Disposition"].endswith("; processed/error: decryption-failed")
        assert "Received-Content-MIC" not in fields


def _decrypt(peer: OpensslPeer, der: bytes) -> bytes:
    return openssl(
        "cms",
        "-decrypt",
        "-in",
        peer.write("in.der", der),
        "-inform",
        "DER",
        "-inkey",
        peer.path("bob.key"),
        "-recip",
        peer.path("bob.pem"),
        "-binary",
    )


def _verify_detached(peer: OpensslPeer, signed_entity: bytes) -> bytes:
    """Split a multipart/signed by hand (not with our splitter) and have openssl verify the
    exact content bytes against the detached signature. Returns the content."""
    head, _, body = signed_entity.partition(b"\r\n\r\n")
    boundary = re.search(rb'boundary="?([^";\r\n]+)', head).group(1)  # type: ignore[union-attr]
    first, second = body.split(b"--" + boundary)[1:3]
    content = first[2:-2]  # after the delimiter's CRLF, before the next delimiter's CRLF
    signature = base64.b64decode(second.split(b"\r\n\r\n", 1)[1])
    return openssl(
        "cms",
        "-verify",
        "-binary",
        "-content",
        peer.write("content.bin", content),
        "-in",
        peer.write("sig.der", signature),
        "-inform",
        "DER",
        "-CAfile",
        peer.path("alice.pem"),
        "-purpose",
        "any",
    )


@pytest.mark.parametrize("encoding", list(TransferEncoding))
def test_what_we_send_decrypts_and_verifies_with_openssl(
    peer: OpensslPeer, alice: LocalParty, bob_as_seen_by_alice: RemoteParty, encoding: str
) -> None:
    receiver = replace(bob_as_seen_by_alice, encoding=encoding)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver, filename="po.x12")
    body = sent.body
    if encoding == TransferEncoding.BASE64:
        assert sent.headers["Content-Transfer-Encoding"] == "base64"
        body = base64.b64decode(body)
    signed = _decrypt(peer, body)
    content = _verify_detached(peer, signed)
    assert content.startswith(b"Content-Type: application/edi-x12\r\n")
    assert content.split(b"\r\n\r\n", 1)[1] == (
        EDI
        if encoding == TransferEncoding.BINARY
        else base64.encodebytes(EDI).replace(b"\n", b"\r\n")
    )
    assert as2.compute_mic(content, SigningAlg.SHA256) == sent.mic


@pytest.mark.parametrize("alg", list(SigningAlg))
def test_every_digest_we_sign_with_verifies_with_openssl(
    peer: OpensslPeer, alice: LocalParty, bob_as_seen_by_alice: RemoteParty, alg: SigningAlg
) -> None:
    """SHA-2 signatures are written by ``cryptography``, SHA-1 by pyas2lib: openssl verifies
    both, finds the digest algorithm we announce and the S/MIME signed attributes."""
    receiver = replace(bob_as_seen_by_alice, signing=alg)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver, filename="po.x12")
    signed = _decrypt(peer, sent.body)
    assert f"micalg={micalg_name(alg)}".encode() in signed.split(b"\r\n")[0]
    content = _verify_detached(peer, signed)
    assert as2.compute_mic(content, alg) == sent.mic
    head, _, body = signed.partition(b"\r\n\r\n")
    boundary = re.search(rb'boundary="?([^";\r\n]+)', head).group(1)  # type: ignore[union-attr]
    der = base64.b64decode(body.split(b"--" + boundary)[2].split(b"\r\n\r\n", 1)[1])
    printed = openssl(
        "cms", "-cmsout", "-print", "-inform", "DER", "-in", peer.write("sig.der", der)
    ).decode()
    for expected in ("contentType", "signingTime", "messageDigest", "S/MIME Capabilities"):
        assert expected in printed
    assert f"algorithm: {alg.value}" in printed.replace("-", "").lower()


#: The payloads that pyas2lib's own build changed (issue 4): LF-only and bare-CR text, mixed
#: line ends, and arbitrary bytes, under content types other than octet-stream.
LINE_END_PAYLOADS = {
    "lf": b"ISA*00~\nST*850~\nSE*2~\n",
    "bare-cr": b"ISA*00~\rST*850~\rSE*2~\r",
    "mixed": b"a\r\nb\nc\rd\n\n",
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize("content_type", ["application/edi-x12", "text/plain"])
@pytest.mark.parametrize("payload", LINE_END_PAYLOADS.values(), ids=list(LINE_END_PAYLOADS))
def test_openssl_receives_every_line_ending_and_byte_exactly_as_sent(
    peer: OpensslPeer,
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    payload: bytes,
    content_type: str,
) -> None:
    sent = as2.build_message(
        payload, sender=alice, receiver=bob_as_seen_by_alice, content_type=content_type
    )
    content = _verify_detached(peer, _decrypt(peer, sent.body))
    head, body = content.split(b"\r\n\r\n", 1)
    assert b"Content-Transfer-Encoding: binary" in head
    assert body == payload
    assert as2.compute_mic(content, SigningAlg.SHA256) == sent.mic


def test_openssls_own_smime_parser_verifies_our_signed_crlf_message(
    peer: OpensslPeer, alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    receiver = replace(bob_as_seen_by_alice, encryption=None)
    sent = as2.build_message(CRLF_EDI, sender=alice, receiver=receiver)
    eml = f"Content-Type: {sent.headers['Content-Type']}\r\n\r\n".encode() + sent.body
    content = openssl(
        "cms",
        "-verify",
        "-in",
        peer.write("signed.eml", eml),
        "-inform",
        "SMIME",
        "-CAfile",
        peer.path("alice.pem"),
        "-purpose",
        "any",
    )
    assert content.endswith(CRLF_EDI)
    assert as2.compute_mic(content, SigningAlg.SHA256) == sent.mic


def test_compressed_before_signing_verifies_with_openssl(
    peer: OpensslPeer, alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    """Debian's openssl cannot inflate, but it can check the signature over the compressed
    entity, and that the MIC we expect is over that entity."""
    receiver = replace(bob_as_seen_by_alice, compression=Compression.BEFORE_SIGNING)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver)
    content = _verify_detached(peer, _decrypt(peer, sent.body))
    assert b"smime-type=compressed-data" in content.split(b"\r\n\r\n", 1)[0]
    assert as2.compute_mic(content, SigningAlg.SHA256) == sent.mic


def test_a_tampered_signature_is_authentication_failed(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    signed = peer.sign(peer.entity(), "sha256", "-outform", "SMIME")
    head, body = smime_split(signed)
    message = email.message_from_bytes(signed)
    signature_b64 = message.get_payload()[1].get_payload().encode()  # type: ignore[index,union-attr]
    raw = bytearray(base64.b64decode(signature_b64))
    raw[-10] ^= 0xFF  # inside the RSA signature value
    forged = body.replace(signature_b64, base64.encodebytes(bytes(raw)).replace(b"\n", b"\r\n"))
    assert forged != body
    plain = f"Content-Type: {head['Content-Type']}\r\n\r\n".encode() + forged
    with pytest.raises(as2.As2Error) as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), peer.encrypt(plain))
    assert err.value.modifier == "authentication-failed"


def test_tampered_content_is_integrity_check_failed(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    signed = peer.sign(peer.entity())
    tampered = signed.replace(b"ST*850*0001~", b"ST*850*0002~", 1)
    with pytest.raises(as2.As2Error) as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), peer.encrypt(tampered))
    assert err.value.modifier == "integrity-check-failed"


def test_a_signature_by_someone_else_is_authentication_failed(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, stranger_keys: KeyPair
) -> None:
    signed = peer.sign(peer.entity())
    stranger = replace(alice_as_seen_by_bob, verify_certs=[stranger_keys.cert_pem])
    with pytest.raises(as2.As2Error) as err:
        receive(bob, stranger, as2_headers(ENVELOPED), peer.encrypt(signed))
    assert err.value.modifier == "authentication-failed"


def test_encrypted_for_another_certificate_is_decryption_failed(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = peer.encrypt(peer.sign(peer.entity()), "aes256", "stranger")
    with pytest.raises(as2.As2Error) as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert err.value.modifier == "decryption-failed"


def test_unsigned_when_signing_is_required_is_insufficient_message_security(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    entity = peer.entity()
    body = peer.encrypt(entity)
    with pytest.raises(as2.As2Error) as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert err.value.modifier == "insufficient-message-security"
    unsigned_ok = replace(alice_as_seen_by_bob, require_signed=False)
    got = receive(bob, unsigned_ok, as2_headers(ENVELOPED), body)
    # Unsigned: the MIC covers the decrypted entity (RFC 4130 §7.3.1), hashed here by hashlib.
    mic = base64.b64encode(hashlib.sha256(entity).digest()).decode()
    assert (got.payload, got.signed, got.mic, got.mic_alg) == (EDI, False, mic, SigningAlg.SHA256)


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_a_truncated_body_is_unexpected_processing_error(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, keep: float
) -> None:
    body = peer.encrypt(peer.sign(peer.entity()))
    with pytest.raises(as2.As2Error) as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body[: int(len(body) * keep)])
    assert err.value.modifier == "unexpected-processing-error"


def test_a_signature_without_signed_attributes(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, stranger_keys: KeyPair
) -> None:
    """RFC 5652 lets the signature cover the content directly (openssl -noattr). A changed
    content is still told from another signer: the digest recovered from the PKCS#1 v1.5
    signature with the partner's key is not the content's."""
    entity = peer.entity()
    signed = peer.sign(entity, "sha256", "-noattr")
    body = peer.encrypt(signed)
    got = receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert (got.payload, got.mic) == (EDI, as2.compute_mic(entity, SigningAlg.SHA256))
    tampered = peer.encrypt(signed.replace(b"ST*850", b"ST*851", 1))
    with pytest.raises(as2.As2Error) as err:
        receive(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), tampered)
    assert err.value.modifier == "integrity-check-failed"
    stranger = replace(alice_as_seen_by_bob, verify_certs=[stranger_keys.cert_pem])
    with pytest.raises(as2.As2Error) as err:
        receive(bob, stranger, as2_headers(ENVELOPED), tampered)
    assert err.value.modifier == "authentication-failed"
    assert "a certificate we do not have (issuer Common Name: alice, serial" in err.value.reason


def test_a_base64_body_that_does_not_say_so(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = base64.encodebytes(peer.encrypt(peer.sign(peer.entity())))
    headers = as2_headers(ENVELOPED)
    del headers["Content-Transfer-Encoding"]
    assert receive(bob, alice_as_seen_by_bob, headers, body).payload == EDI
