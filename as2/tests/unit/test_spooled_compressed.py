"""``parse_spooled`` on compressed messages (RFC 5402): compressed before or after signing,
with or without encryption, our own and hand-built CompressedData (DER and BER segments,
since this openssl has no zlib), in bounded memory, and refusing what ``parse_message``
refuses (zip bombs, corrupt or truncated data, compression twice) with the same words."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from asn1crypto import cms

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty, spool_io
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding

from .conftest import EDI, ENVELOPED, OpensslPeer, as2_headers, replace
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
COMPRESSED = 'application/pkcs7-mime; smime-type=compressed-data; name="smime.p7z"'
EOC = b"\x00\x00"


def compressed_data(content: bytes, *, ber: bool = False, deflated: bytes | None = None) -> bytes:
    """A CompressedData ContentInfo made here, not by the code under test: DER through
    asn1crypto, or BER with indefinite lengths and eContent in 1000-byte segments (as a
    streaming encoder writes it). ``deflated`` replaces the zlib data (to damage it)."""
    data = zlib.compress(content) if deflated is None else deflated
    if not ber:
        compressed = cms.CompressedData(
            {
                "version": "v0",
                "compression_algorithm": {"algorithm": "zlib"},
                "encap_content_info": {"content_type": "data", "content": data},
            }
        )
        der: bytes = cms.ContentInfo(
            {"content_type": "compressed_data", "content": compressed}
        ).dump()
        return der
    pieces = (data[i : i + 1000] for i in range(0, len(data), 1000))
    segments = b"".join(cms.OctetString(piece).dump() for piece in pieces)
    indefinite: bytes = (
        b"\x30\x80" + cms.ContentType("compressed_data").dump()
        + b"\xa0\x80\x30\x80" + cms.Integer(0).dump()
        + cms.CompressionAlgorithm({"algorithm": "zlib"}).dump()
        + b"\x30\x80" + cms.ContentType("data").dump()
        + b"\xa0\x80\x24\x80" + segments
        + EOC * 6
    )  # fmt: skip
    return indefinite


def compressed_entity(content: bytes, **kw: Any) -> bytes:
    head = f"Content-Type: {COMPRESSED}\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    return head.encode() + compressed_data(content, **kw)


def unprotected_ok(them: RemoteParty) -> RemoteParty:
    return replace(them, require_signed=False, require_encrypted=False)


@pytest.mark.parametrize("chunk", [1, 7, 4099, MIB])
@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize("encryption", [EncryptionAlg.AES128, None])
@pytest.mark.parametrize("compression", [Compression.BEFORE_SIGNING, Compression.AFTER_SIGNING])
def test_our_compressed_messages_read_the_same_from_a_file(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    monkeypatch: pytest.MonkeyPatch,
    compression: Compression,
    encryption: EncryptionAlg | None,
    encoding: TransferEncoding,
    chunk: int,
) -> None:
    monkeypatch.setattr(spool_io, "CHUNK", chunk)
    document = EDI * 3 + b"\r"
    receiver = replace(bob_as_seen_by_alice, compression=compression, encryption=encryption)
    receiver = replace(receiver, encoding=encoding)
    sent = as2.build_message(document, sender=alice, receiver=receiver, filename="../po.x12")
    them = replace(alice_as_seen_by_bob, require_encrypted=bool(encryption))
    got = same_as_parse_message(bob, them, sent.headers, sent.body)
    assert (got.compressed, got.signed, got.encrypted) == (True, True, bool(encryption))
    assert (got.payload, got.filename, got.mic) == (document, "po.x12", sent.mic)


@pytest.mark.parametrize("encryption", [EncryptionAlg.TRIPLE_DES, None])
def test_compressed_without_signing(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    encryption: EncryptionAlg | None,
) -> None:
    receiver = replace(bob_as_seen_by_alice, signing=None, encryption=encryption)
    receiver = replace(receiver, compression=Compression.AFTER_SIGNING)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver)
    them = replace(unprotected_ok(alice_as_seen_by_bob), require_encrypted=bool(encryption))
    got = same_as_parse_message(bob, them, sent.headers, sent.body)
    assert (got.compressed, got.signed, got.mic_alg) == (True, False, SigningAlg.SHA256)
    if encryption is None:  # unsigned and unencrypted: the MIC covers the body as it came
        assert got.mic == base64.b64encode(hashlib.sha256(sent.body).digest()).decode()
    # the partnership wants signing: both refuse alike
    strict = replace(them, require_signed=True)
    assert same_failure(bob, strict, sent.headers, sent.body) == "insufficient-message-security"


def test_the_body_is_read_from_its_position_and_kept_open(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    receiver = replace(bob_as_seen_by_alice, compression=Compression.AFTER_SIGNING)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver)
    body = io.BytesIO(b"ignored" + sent.body)
    body.seek(7)
    got = spool(bob, alice_as_seen_by_bob, sent.headers, body)
    assert got is not None
    assert got.compressed
    assert got.payload_file is not None
    got.payload_file.file.close()
    assert not body.closed


@pytest.mark.parametrize("chunk", [1, 5, MIB])
@pytest.mark.parametrize("ber", [False, True], ids=["der", "ber"])
def test_hand_built_compressed_data_in_both_orders(
    peer: OpensslPeer,
    bob: LocalParty,
    alice_as_seen_by_bob: RemoteParty,
    monkeypatch: pytest.MonkeyPatch,
    ber: bool,
    chunk: int,
) -> None:
    monkeypatch.setattr(spool_io, "CHUNK", chunk)
    document = EDI * 40  # several BER segments
    if ber:
        assert compressed_data(document, ber=True)[1] == 0x80
    # compressed before signing: openssl signs the compressed entity, then encrypts (BER)
    entity = compressed_entity(peer.entity(document), ber=ber)
    body = stream_encrypt(peer.tmp, peer.sign(entity, "sha256"))
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert (got.payload, got.compressed) == (document, True)
    assert got.mic == as2.compute_mic(entity, SigningAlg.SHA256)
    # compressed after signing
    signed = peer.sign(peer.entity(document), "sha384")
    body = peer.encrypt(compressed_entity(signed, ber=ber))
    got = same_as_parse_message(bob, alice_as_seen_by_bob, as2_headers(ENVELOPED), body)
    assert (got.payload, got.compressed, got.mic_alg) == (document, True, SigningAlg.SHA384)
    # neither signed nor encrypted, the CMS itself the HTTP body
    them = unprotected_ok(alice_as_seen_by_bob)
    body = compressed_data(peer.entity(document), ber=ber)
    got = same_as_parse_message(bob, them, as2_headers(COMPRESSED), body)
    assert (got.payload, got.compressed, got.signed) == (document, True, False)


def test_gzip_framing_and_base64_without_saying_so(
    peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    """cms.decompress also takes gzip framing, and CMS that is base64 whatever the header."""
    them = unprotected_ok(alice_as_seen_by_bob)
    body = compressed_data(b"", deflated=gzip.compress(peer.entity()))
    got = same_as_parse_message(bob, them, as2_headers(COMPRESSED), body)
    assert got.payload == EDI
    got = same_as_parse_message(bob, them, as2_headers(COMPRESSED), base64.encodebytes(body))
    assert got.payload == EDI


def _peak_while(call: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("compression", [Compression.BEFORE_SIGNING, Compression.AFTER_SIGNING])
def test_a_20_mb_compressed_document_is_read_in_bounded_memory(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    tmp_path: Any,
    compression: Compression,
) -> None:
    lines = b"".join(b"PO1*%d*10*EA*9.95**VP*SKU%07d~\r\n" % (i, i * 7919) for i in range(4000))
    document = (lines * (20 * MIB // len(lines) + 1))[: 20 * MIB]
    receiver = replace(bob_as_seen_by_alice, compression=compression)
    sent = as2.build_message(document, sender=alice, receiver=receiver, filename="big.x12")
    assert len(sent.body) < 4 * MIB  # it did compress
    (tmp_path / "body").write_bytes(sent.body)
    with (tmp_path / "body").open("rb") as body:
        got, peak = _peak_while(lambda: spool(bob, alice_as_seen_by_bob, sent.headers, body))
    assert isinstance(got, as2.ReceivedMessage)
    print(f"\npeak traced memory, 20 MiB compressed ({compression}): {peak / MIB:.2f} MiB")
    assert peak < 8 * MIB
    assert (got.compressed, got.mic) == (True, sent.mic)
    assert got.payload_file is not None
    assert got.payload_file.size == 20 * MIB
    assert digest_of(got) == hashlib.sha256(document).hexdigest()


class TestRefusals:
    """Each: parse_message's modifier and words, and no temporary file left open."""

    @pytest.mark.parametrize("ber", [False, True], ids=["der", "ber"])
    def test_a_zip_bomb_stops_at_the_limit(
        self,
        peer: OpensslPeer,
        bob: LocalParty,
        alice_as_seen_by_bob: RemoteParty,
        temp_files: TempFiles,
        ber: bool,
    ) -> None:
        temp_files.track_sizes = True
        bomb = compressed_data(peer.entity(bytes(48 * MIB)), ber=ber)
        assert len(bomb) < 100_000
        them, headers = unprotected_ok(alice_as_seen_by_bob), as2_headers(COMPRESSED)
        limit = MIB
        assert same_failure(bob, them, headers, bomb, max_payload_bytes=limit) == (
            "unexpected-processing-error"
        )
        words = f"the decompressed content exceeds the limit of {limit} bytes"
        with pytest.raises(as2.As2Error, match=words):
            as2.parse_message(
                headers, bomb, lookup=lambda _f, _t: (bob, them), max_payload_bytes=limit
            )
        with pytest.raises(as2.As2Error, match=words):
            spool(bob, them, headers, bomb, max_payload_bytes=limit)
        assert temp_files.sizes()
        assert max(temp_files.sizes()) <= limit  # stopped, not inflated to the end

    def test_a_zip_bomb_inside_signing_and_encryption(
        self,
        alice: LocalParty,
        bob: LocalParty,
        bob_as_seen_by_alice: RemoteParty,
        alice_as_seen_by_bob: RemoteParty,
        temp_files: TempFiles,
    ) -> None:
        temp_files.track_sizes = True
        for compression in Compression:
            if compression == Compression.NONE:
                continue
            receiver = replace(bob_as_seen_by_alice, compression=compression)
            sent = as2.build_message(bytes(4 * MIB), sender=alice, receiver=receiver)
            modifier = same_failure(
                bob, alice_as_seen_by_bob, sent.headers, sent.body, max_payload_bytes=1000
            )
            assert modifier == "unexpected-processing-error"
        assert max(temp_files.sizes()) < 64 * 1024

    @pytest.mark.parametrize("ber", [False, True], ids=["der", "ber"])
    def test_corrupt_and_truncated_zlib_data(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, ber: bool
    ) -> None:
        them, headers = unprotected_ok(alice_as_seen_by_bob), as2_headers(COMPRESSED)
        deflated = zlib.compress(peer.entity(EDI * 20))
        corrupt = bytearray(deflated)
        corrupt[len(corrupt) // 2 : len(corrupt) // 2 + 8] = b"\xff" * 8
        cases = {
            "corrupt compressed data": bytes(corrupt),
            "truncated": deflated[: len(deflated) // 2],
            "truncated ": deflated[:-3],  # the checksum cut
            "corrupt compressed data ": b"\x00" + deflated,  # no zlib header
        }
        for words, data in cases.items():
            body = compressed_data(b"", ber=ber, deflated=data)
            assert same_failure(bob, them, headers, body) == "unexpected-processing-error"
            with pytest.raises(as2.As2Error, match=words.strip()):
                spool(bob, them, headers, body)

    @pytest.mark.parametrize("keep", [0.05, 0.5, 0.99])
    def test_truncated_cms(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty, keep: float
    ) -> None:
        them, headers = unprotected_ok(alice_as_seen_by_bob), as2_headers(COMPRESSED)
        for ber in (False, True):
            body = compressed_data(peer.entity(EDI * 20), ber=ber)
            cut = body[: int(len(body) * keep)]
            assert same_failure(bob, them, headers, cut) == "unexpected-processing-error"

    def test_an_unknown_algorithm_or_no_content(
        self, peer: OpensslPeer, bob: LocalParty, alice_as_seen_by_bob: RemoteParty
    ) -> None:
        them, headers = unprotected_ok(alice_as_seen_by_bob), as2_headers(COMPRESSED)
        zlib_oid = cms.CompressionAlgorithmId("zlib").dump()
        body = compressed_data(peer.entity()).replace(zlib_oid, zlib_oid[:-1] + b"\x09")
        assert same_failure(bob, them, headers, body) == "unexpected-processing-error"
        with pytest.raises(as2.As2Error, match="unsupported compression"):
            spool(bob, them, headers, body)
        empty = cms.ContentInfo(
            {
                "content_type": "compressed_data",
                "content": {
                    "version": "v0",
                    "compression_algorithm": {"algorithm": "zlib"},
                    "encap_content_info": {"content_type": "data"},
                },
            }
        ).dump()
        assert same_failure(bob, them, headers, empty) == "unexpected-processing-error"
        with pytest.raises(as2.As2Error, match="unsupported compression 'zlib'"):
            spool(bob, them, headers, empty)

    @pytest.mark.parametrize("encrypted", [False, True])
    def test_compressed_twice(
        self,
        peer: OpensslPeer,
        bob: LocalParty,
        alice_as_seen_by_bob: RemoteParty,
        encrypted: bool,
    ) -> None:
        twice = compressed_entity(compressed_entity(peer.entity()))
        them = unprotected_ok(alice_as_seen_by_bob)
        if encrypted:
            body, headers = stream_encrypt(peer.tmp, twice), as2_headers(ENVELOPED)
        else:
            body, headers = twice.split(b"\r\n\r\n", 1)[1], as2_headers(COMPRESSED)
        assert same_failure(bob, them, headers, body) == "unexpected-processing-error"
        with pytest.raises(as2.As2Error, match="compressed more than once"):
            spool(bob, them, headers, body)
