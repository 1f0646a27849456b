"""``parse_spooled`` in bounded memory, across chunk edges, and refusing what
``parse_message`` refuses with the same modifier, leaving no temporary file open."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty, spool_io
from as2bus.as2.algorithms import EncryptionAlg, SigningAlg, TransferEncoding

from .conftest import EDI, ENVELOPED, OpensslPeer, as2_headers, replace, smime_split
from .spooled_helpers import (
    TempFiles,
    digest_of,
    same_as_parse_message,
    same_failure,
    spool,
    stream_encrypt,
    watch_temp_files,
)


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


MIB = 1 << 20


def _large_document(size: int) -> bytes:
    """Random lines with boundary-like dashes, CR, LF and CRLF everywhere."""
    line = os.urandom(48).hex().encode()
    pieces = [line + b"\r\n--\n--" + line[:7] + b"\r", b"\n\r\n-- -\r\r\n"]
    out = b"".join(pieces) * (size // (len(pieces[0]) + len(pieces[1])) + 1)
    return out[:size]


def _every_other_crlf_to_lf(data: bytes) -> bytes:
    count = itertools.count()
    return re.sub(rb"\r\n", lambda _m: b"\n" if next(count) % 2 else b"\r\n", data)


def _peak_while(call: object) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = call()  # type: ignore[operator]
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_20_mb_message_of_ours_is_read_in_bounded_memory(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    tmp_path: Path,
) -> None:
    document = _large_document(20 * MIB)
    receiver = replace(bob_as_seen_by_alice, encoding=TransferEncoding.BASE64)
    sent = as2.build_message(document, sender=alice, receiver=receiver, filename="big.x12")
    (tmp_path / "body").write_bytes(sent.body)
    expected = hashlib.sha256(document).hexdigest()
    with (tmp_path / "body").open("rb") as body:
        got, peak = _peak_while(lambda: spool(bob, alice_as_seen_by_bob, sent.headers, body))
    assert isinstance(got, as2.ReceivedMessage)
    assert got.payload_file is not None
    print(f"\npeak traced memory for a 20 MiB document (base64 inside): {peak / MIB:.2f} MiB")
    assert peak < 8 * MIB
    assert got.payload_file.size == 20 * MIB
    assert got.mic == sent.mic
    assert digest_of(got) == expected


def test_a_20_mb_openssl_streamed_message_is_read_in_bounded_memory(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, tmp_path: Path
) -> None:
    document = _large_document(20 * MIB)
    entity = peer.entity(document)
    expected = hashlib.sha256(document).hexdigest()
    (tmp_path / "body").write_bytes(stream_encrypt(tmp_path, peer.sign(entity, "sha256")))
    mic = as2.compute_mic(entity, SigningAlg.SHA256)
    with (tmp_path / "body").open("rb") as body:
        got, peak = _peak_while(
            lambda: spool(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
        )
    assert isinstance(got, as2.ReceivedMessage)
    print(f"\npeak traced memory for a 20 MiB openssl -stream document: {peak / MIB:.2f} MiB")
    assert peak < 8 * MIB
    assert got.mic == mic
    assert digest_of(got) == expected


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4099])
def test_every_chunk_edge(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    peer: OpensslPeer,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    monkeypatch.setattr(spool_io, "CHUNK", chunk)
    document = _large_document(3000) + b"\r"  # and a CR at the very end
    for encoding in TransferEncoding:
        receiver = replace(bob_as_seen_by_alice, encoding=encoding)
        sent = as2.build_message(document, sender=alice, receiver=receiver)
        same_as_parse_message(bob, alice_as_seen_by_bob, sent.headers, sent.body)
    # Signed as CRLF text, then half the line ends became LF on the way: only the CRLF
    # form (computed across chunk edges, a CR at a chunk's end waiting) matches the digest.
    crlf_text = document.replace(b"\r", b"").replace(b"\n", b"\r\n")
    signed = peer.sign(peer.entity(crlf_text, "7bit"), binary=False)
    body = stream_encrypt(peer.tmp, _every_other_crlf_to_lf(signed))
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert got.payload == crlf_text
    smime_headers, body = smime_split(peer.encrypt(peer.sign(peer.entity()), outform="SMIME"))
    headers = as2_headers(smime_headers["Content-Type"], cte="base64")
    same_as_parse_message(bob, alice_as_seen_by_bob, headers, body)


#: Lines that look like the delimiter "--QQ" but are not one (RFC 2046: a line break before
#: it, then a line end, white space or "--"): they must stay inside the signed part.
NEAR_MISSES = b"a\r\n--QQx\r\nb--QQ\r\n--QQQ\r\n\n--Q\n--QQ-\r\n--QQz"


@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_a_payload_full_of_near_delimiters(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    monkeypatch.setattr(spool_io, "CHUNK", chunk)
    receiver = replace(bob_as_seen_by_alice, encryption=None)
    them = replace(alice_as_seen_by_bob, require_encrypted=False)
    sent = as2.build_message(NEAR_MISSES * 3, sender=alice, receiver=receiver)
    boundary = sent.headers["Content-Type"].split("boundary=")[1].strip('"')
    assert boundary.encode() in sent.body
    assert b"QQ" not in boundary.encode()
    # The boundary is outside what was signed: renaming it keeps the signature valid.
    headers = {**sent.headers, "Content-Type": sent.headers["Content-Type"].replace(boundary, "QQ")}
    body = sent.body.replace(boundary.encode(), b"QQ")
    got = same_as_parse_message(bob, them, headers, body)
    assert got.payload == NEAR_MISSES * 3


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


class TestRefusals:
    """Each: parse_message's modifier, and no temporary file left open (the fixture)."""

    @pytest.fixture
    def signed(self, peer: OpensslPeer) -> bytes:
        return peer.sign(peer.entity())

    def test_tampered_ciphertext(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, signed: bytes
    ) -> None:
        der, ber = peer.encrypt(signed), stream_encrypt(peer.tmp, signed)
        headers = as2_headers(ENVELOPED)
        # The last byte of the DER is the padding: the one answer for a wrong key.
        assert same_failure(bob, alice_as_seen_by_bob, headers, _flip(der, -1)) == (
            "decryption-failed"
        )
        # In the middle: a garbled block; the signature tells, or the MIME it lands in breaks.
        for body in (der, ber):
            modifier = same_failure(bob, alice_as_seen_by_bob, headers, _flip(body, len(body) // 2))
            assert modifier != "decryption-failed"

    def test_encrypted_for_someone_else(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, signed: bytes
    ) -> None:
        body = peer.encrypt(signed, "aes256", "stranger")
        headers = as2_headers(ENVELOPED)
        assert same_failure(bob, alice_as_seen_by_bob, headers, body) == "decryption-failed"

    def test_a_wrong_key_of_ours_before_the_right_one(
        self,
        peer: OpensslPeer,
        bob: LocalParty,
        alice_as_seen_by_bob: RemoteParty,
        stranger_keys: KeyPair,
        signed: bytes,
    ) -> None:
        """Several keys in service: each is tried, the right one wins, whatever the order."""
        body = stream_encrypt(peer.tmp, signed)
        for keys in ([stranger_keys, *bob.decryption], [*bob.decryption, stranger_keys]):
            me = replace(bob, decryption=keys)
            same_as_parse_message(me, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
        me = replace(bob, decryption=[])
        assert same_failure(me, alice_as_seen_by_bob, as2_headers(ENVELOPED), body) == (
            "decryption-failed"
        )

    def test_tampered_first_part(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, signed: bytes
    ) -> None:
        body = peer.encrypt(signed.replace(b"ST*850*0001~", b"ST*850*0002~", 1))
        headers = as2_headers(ENVELOPED)
        assert same_failure(bob, alice_as_seen_by_bob, headers, body) == "integrity-check-failed"

    def test_signed_by_a_stranger(
        self,
        peer: OpensslPeer,
        bob: LocalParty,
        alice_as_seen_by_bob: RemoteParty,
        stranger_keys: KeyPair,
        signed: bytes,
    ) -> None:
        them = replace(alice_as_seen_by_bob, verify_certs=[stranger_keys.cert_pem])
        body = stream_encrypt(peer.tmp, signed)
        assert same_failure(bob, them, as2_headers(ENVELOPED), body) == "authentication-failed"
        noattr = peer.encrypt(peer.sign(peer.entity(), "sha256", "-noattr"))
        assert same_failure(bob, them, as2_headers(ENVELOPED), noattr) == "authentication-failed"

    @pytest.mark.parametrize("keep", [0.02, 0.5, 0.98, 0.999])
    def test_truncated(
        self,
        peer: OpensslPeer,
        bob: LocalParty,
        alice_as_seen_by_bob: RemoteParty,
        signed: bytes,
        keep: float,
    ) -> None:
        for body in (peer.encrypt(signed), stream_encrypt(peer.tmp, signed)):
            cut = body[: int(len(body) * keep)]
            modifier = same_failure(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), cut)
            assert modifier == "unexpected-processing-error"

    @pytest.mark.parametrize(
        "body",
        [os.urandom(3000), b"\x30\x80" + os.urandom(3000), b"\x30\x03\x06\x01\x00", b"0" * 99],
        ids=["random", "ber-start", "short-der", "base64-ish"],
    )
    def test_garbage(self, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, body: bytes) -> None:
        modifier = same_failure(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
        assert modifier == "unexpected-processing-error"

    def test_empty_and_unaddressed(
        self, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
    ) -> None:
        headers = as2_headers(ENVELOPED)
        assert same_failure(bob, alice_as_seen_by_bob, headers, b" \r\n\t") == (
            "unexpected-processing-error"
        )
        del headers["AS2-From"]
        assert same_failure(bob, alice_as_seen_by_bob, headers, b"x") == (
            "unexpected-processing-error"
        )

    def test_unsigned_or_unencrypted_when_required(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
    ) -> None:
        body = stream_encrypt(peer.tmp, peer.entity())
        modifier = same_failure(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
        assert modifier == "insufficient-message-security"
        smime_headers, signed = smime_split(peer.sign(peer.entity()))
        headers = as2_headers(smime_headers["Content-Type"])
        modifier = same_failure(bob, alice_as_seen_by_bob, headers, signed)
        assert modifier == "insufficient-message-security"

    @pytest.mark.parametrize("encoding", list(TransferEncoding))
    def test_a_payload_over_the_limit(
        self,
        alice: LocalParty,
        bob: LocalParty,
        bob_as_seen_by_alice: RemoteParty,
        alice_as_seen_by_bob: RemoteParty,
        temp_files: TempFiles,
        encoding: TransferEncoding,
    ) -> None:
        receiver = replace(bob_as_seen_by_alice, encoding=encoding)
        sent = as2.build_message(EDI, sender=alice, receiver=receiver)
        limit = len(EDI) - 1
        modifier = same_failure(
            bob, alice_as_seen_by_bob, sent.headers, sent.body, max_payload_bytes=limit
        )
        assert modifier == "unexpected-processing-error"
        with pytest.raises(as2.As2Error, match=f"exceeds {limit} bytes"):
            spool(bob, alice_as_seen_by_bob, sent.headers, sent.body, max_payload_bytes=limit)
        same_as_parse_message(
            bob, alice_as_seen_by_bob, sent.headers, sent.body, max_payload_bytes=len(EDI)
        )

    @pytest.mark.parametrize("encryption", [EncryptionAlg.AES128, None])
    def test_writing_stops_at_the_limit(
        self,
        alice: LocalParty,
        bob: LocalParty,
        bob_as_seen_by_alice: RemoteParty,
        alice_as_seen_by_bob: RemoteParty,
        temp_files: TempFiles,
        encryption: EncryptionAlg | None,
    ) -> None:
        """A large document with a small limit: no file grows far past the limit (the
        plaintext when encrypted, else the base64-decoded document)."""
        temp_files.track_sizes = True
        document = os.urandom(4 * MIB)
        receiver = replace(bob_as_seen_by_alice, encryption=encryption)
        receiver = replace(receiver, encoding=TransferEncoding.BASE64)
        sent = as2.build_message(document, sender=alice, receiver=receiver)
        them = replace(alice_as_seen_by_bob, require_encrypted=bool(encryption))
        with pytest.raises(as2.As2Error, match="exceeds 1000 bytes"):
            spool(bob, them, sent.headers, sent.body, max_payload_bytes=1000)
        sizes = temp_files.sizes()
        assert sizes
        assert max(sizes) <= MIB + 1500

    def test_missing_closing_boundary(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
    ) -> None:
        smime_headers, signed = smime_split(peer.sign(peer.entity()))
        boundary = smime_headers["Content-Type"].split("boundary=")[1].strip('"').encode()
        cut = signed[: signed.rindex(b"--" + boundary + b"--")]
        headers = as2_headers(smime_headers["Content-Type"])
        them = replace(alice_as_seen_by_bob, require_encrypted=False)
        assert same_failure(bob, them, headers, cut) == "unexpected-processing-error"
        inner = f"Content-Type: {smime_headers['Content-Type']}\r\n\r\n".encode() + cut
        modifier = same_failure(bob, them, as2_headers(ENVELOPED), stream_encrypt(peer.tmp, inner))
        assert modifier == "unexpected-processing-error"

    def test_no_file_descriptor_is_left_behind(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, signed: bytes
    ) -> None:
        bodies = [peer.encrypt(signed, "aes256", "stranger"), peer.encrypt(signed)[:-50]]
        bodies.append(peer.encrypt(signed.replace(b"ST*850*0001~", b"ST*850*0002~", 1)))
        before = len(os.listdir("/proc/self/fd"))
        for body in bodies * 3:
            with pytest.raises(as2.As2Error):
                spool(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
        assert len(os.listdir("/proc/self/fd")) == before
