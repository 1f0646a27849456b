"""``parse_spooled`` reads what ``parse_message`` reads, from a file: our own messages and
openssl's (DER and streamed BER, base64, OAEP), with the same result, field by field."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterator
from typing import Any

import pytest

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty, spool_io
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding

from .conftest import CRLF_EDI, EDI, ENVELOPED, OpensslPeer, as2_headers, replace, smime_split
from .spooled_helpers import (
    TempFiles,
    same_as_parse_message,
    same_failure,
    spool,
    stream_encrypt,
    watch_temp_files,
)


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize("encryption", [*EncryptionAlg, None])
@pytest.mark.parametrize("signing", [SigningAlg.SHA1, SigningAlg.SHA256, SigningAlg.SHA512, None])
def test_our_messages_read_the_same_from_a_file(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    signing: SigningAlg | None,
    encryption: EncryptionAlg | None,
    encoding: TransferEncoding,
) -> None:
    receiver = replace(bob_as_seen_by_alice, signing=signing, encryption=encryption)
    receiver = replace(receiver, encoding=encoding)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver, filename="../po.x12")
    them = replace(
        alice_as_seen_by_bob, require_signed=bool(signing), require_encrypted=bool(encryption)
    )
    got = same_as_parse_message(bob, them, sent.headers, sent.body)
    assert (got.signed, got.encrypted, got.filename) == (bool(signing), bool(encryption), "po.x12")
    if signing:
        assert got.mic == sent.mic
    else:  # the MIC over what came, for the MDN (test_mdn_mic_unsigned), the same both ways
        assert (got.mic is not None, got.mic_alg) == (True, SigningAlg.SHA256)


def test_an_unprotected_message_is_copied_into_a_file_of_its_own(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    temp_files: TempFiles,
) -> None:
    receiver = replace(bob_as_seen_by_alice, signing=None, encryption=None)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver)
    them = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=False)
    body = io.BytesIO(sent.body)
    got = spool(bob, them, sent.headers, body)
    assert got is not None
    assert got.payload_file is not None
    assert got.payload_file.file is not body
    assert got.payload_file.file in temp_files.made
    got.payload_file.file.close()
    assert not body.closed


@pytest.mark.parametrize("stream", [True, False], ids=["ber-stream", "der"])
@pytest.mark.parametrize("cipher", ["aes256", "des3", "aes128"])
def test_openssl_signed_and_encrypted(
    peer: OpensslPeer,
    bob: LocalParty,
    alice_as_seen_by_bob: RemoteParty,
    stream: bool,
    cipher: str,
) -> None:
    entity = peer.entity()
    signed = peer.sign(entity, "sha256")
    body = stream_encrypt(peer.tmp, signed, cipher) if stream else peer.encrypt(signed, cipher)
    assert (body[1] == 0x80) is stream  # indefinite length: BER from -stream
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert got.payload == EDI
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)


@pytest.mark.parametrize("stream", [True, False], ids=["ber-stream", "der"])
@pytest.mark.parametrize("md", ["sha256", "sha1"])
def test_openssl_oaep_key_transport(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, stream: bool, md: str
) -> None:
    oaep = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", f"rsa_oaep_md:{md}"]
    signed = peer.sign(peer.entity(), "sha512")
    if stream:
        body = stream_encrypt(peer.tmp, signed, "aes256", *oaep)
    else:
        body = peer.encrypt(signed, "aes256", "bob", oaep[1], oaep[3])
    assert b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x07" in body[:600]  # id-RSAES-OAEP
    same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)


def test_openssl_base64_smime_output(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    smime_headers, body = smime_split(
        peer.encrypt(peer.sign(peer.entity(cte=None)), outform="SMIME")
    )
    headers = as2_headers(smime_headers["Content-Type"], cte="base64")
    same_as_parse_message(bob, alice_as_seen_by_bob, headers, body)


def test_a_base64_body_that_does_not_say_so(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    import base64

    body = base64.encodebytes(peer.encrypt(peer.sign(peer.entity())))
    headers = as2_headers(ENVELOPED)
    del headers["Content-Transfer-Encoding"]
    same_as_parse_message(bob, alice_as_seen_by_bob, headers, body)


@pytest.mark.parametrize("text", [b"line one\nline two\n", CRLF_EDI], ids=["lf", "crlf"])
def test_text_mode_signing_delivers_the_canonical_form(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, text: bytes
) -> None:
    """openssl signed the CRLF form of the entity: the signature only matches that form."""
    body = peer.encrypt(peer.sign(peer.entity(text, cte="7bit"), "sha256", binary=False))
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert got.payload == text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_signed_only_and_unsigned_openssl_messages(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    smime_headers, body = smime_split(peer.sign(peer.entity(), "sha384"))
    unencrypted_ok = replace(alice_as_seen_by_bob, require_encrypted=False)
    headers = as2_headers(smime_headers["Content-Type"])
    assert same_as_parse_message(bob, unencrypted_ok, headers, body).signed
    unsigned_ok = replace(alice_as_seen_by_bob, require_signed=False)
    body = stream_encrypt(peer.tmp, peer.entity())
    assert not same_as_parse_message(bob, unsigned_ok, as2_headers(ENVELOPED), body).signed


def test_a_signature_without_signed_attributes(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    body = peer.encrypt(peer.sign(peer.entity(), "sha256", "-noattr"))
    same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)


@pytest.mark.parametrize("compression", [Compression.BEFORE_SIGNING, Compression.AFTER_SIGNING])
@pytest.mark.parametrize("encryption", [EncryptionAlg.AES128, None])
def test_compressed_messages_are_streamed_too(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    compression: Compression,
    encryption: EncryptionAlg | None,
) -> None:
    """Once left to parse_message; more in test_spooled_compressed."""
    receiver = replace(bob_as_seen_by_alice, compression=compression, encryption=encryption)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver)
    them = replace(alice_as_seen_by_bob, require_encrypted=bool(encryption))
    got = same_as_parse_message(bob, them, sent.headers, sent.body)
    assert (got.payload, got.compressed) == (EDI, True)


@pytest.mark.parametrize("stream", [False, True], ids=["der", "ber-stream"])
def test_opaque_signing_is_read_from_a_file(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, stream: bool
) -> None:
    """Once left to parse_message: the content is copied out of the SignedData while hashed."""
    entity = peer.entity()
    der = peer.sign(entity, "sha256", "-nodetach", "-outform", "DER", *(["-stream"] * stream))
    assert (der[1] == 0x80) == stream
    body = peer.encrypt(
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\n" + der
    )
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert (got.payload, got.signed) == (EDI, True)
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)
    tampered = der.replace(b"ST*850", b"ST*851", 1)
    body = peer.encrypt(b"Content-Type: application/pkcs7-mime\r\n\r\n" + tampered)
    modifier = same_failure(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert modifier == "integrity-check-failed"


def test_quoted_printable_is_read_from_a_file(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, monkeypatch: Any
) -> None:
    """Once left to parse_message: the document quoted-printable, and the CMS body too (lines
    longer than a chunk, escapes across chunk edges)."""
    monkeypatch.setattr(spool_io, "CHUNK", 7)
    document = b"caf\xc3\xa9 = 1\r\n" + b"x" * 200 + b"\r\n\ttab \r\n"
    entity = peer.entity(binascii.b2a_qp(document), cte="quoted-printable")
    body = peer.encrypt(peer.sign(entity))
    headers = as2_headers(ENVELOPED)
    assert same_as_parse_message(bob, alice_as_seen_by_bob, headers, body).payload == document
    for qp in (binascii.b2a_qp(body, istext=False), b"".join(f"={b:02X}".encode() for b in body)):
        assert binascii.a2b_qp(qp) == body
        headers = as2_headers(ENVELOPED, cte="quoted-printable")
        got = same_as_parse_message(bob, alice_as_seen_by_bob, headers, qp)
        assert got.payload == document


def test_a_base64_encoded_multipart_is_decoded_from_a_file(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    """Not valid MIME, but sent: a multipart/signed whose body is base64."""
    headers, body = smime_split(peer.sign(peer.entity()))
    them = replace(alice_as_seen_by_bob, require_encrypted=False)
    encoded = base64.encodebytes(body)
    got = same_as_parse_message(
        bob, them, as2_headers(headers["Content-Type"], cte="base64"), encoded
    )
    assert (got.payload, got.signed) == (EDI, True)
