"""Building a message around a document read in chunks (``as2.streaming``): the same message
``build_message`` writes, compressed or not, readable by our parser and by openssl, in bounded
memory."""

from __future__ import annotations

import base64
import itertools
import os
import re
import tracemalloc
from collections.abc import Iterator
from typing import Unpack

import pytest
from asn1crypto import cms as asn1_cms

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty, mime
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.as2.streaming import BoundaryInContentError, Streamer, StreamPlan

from .conftest import EDI, OpensslPeer, StreamerOptions, replace
from .test_openssl_interop import _decrypt, _verify_detached


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def stream(
    payload: bytes,
    alice: LocalParty,
    receiver: RemoteParty,
    chunk: int = 7,
    **options: Unpack[StreamerOptions],
) -> tuple[StreamPlan, bytes]:
    """Both passes, as outbound-svc runs them, with small chunks to cross every edge."""
    streamer = Streamer(len(payload), sender=alice, receiver=receiver, **options)
    for piece in _pieces(payload, chunk):
        streamer.digest(piece)
    plan = streamer.plan()
    encoder = plan.encoder()
    body = encoder.head() + b"".join(encoder.update(p) for p in _pieces(payload, chunk))
    return plan, body + encoder.finish()


LAYOUTS = list(itertools.product([*SigningAlg, None], [*EncryptionAlg, None]))


@pytest.mark.parametrize(("signing", "encryption"), LAYOUTS)
@pytest.mark.parametrize("mdn", [("sync", SigningAlg.SHA256), ("async", None), (None, None)])
@pytest.mark.parametrize("encoding", list(TransferEncoding))
def test_streamed_messages_parse_as_sent_with_the_length_announced(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    signing: SigningAlg | None,
    encryption: EncryptionAlg | None,
    mdn: tuple[str | None, SigningAlg | None],
    encoding: TransferEncoding,
) -> None:
    receiver = replace(
        bob_as_seen_by_alice,
        encoding=encoding,
        signing=signing,
        encryption=encryption,
        mdn_mode=mdn[0],
        mdn_signing=mdn[1],
        async_mdn_url="https://alice.example/as2" if mdn[0] == "async" else None,
    )
    payload = EDI + os.urandom(999)
    plan, body = stream(payload, alice, receiver, filename="po.x12", subject="PO 1")
    assert len(body) == plan.length == int(plan.headers["Content-Length"])
    sender = replace(
        alice_as_seen_by_bob, require_signed=bool(signing), require_encrypted=bool(encryption)
    )
    got = as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, sender))
    assert got.payload == payload
    assert (got.filename, got.subject) == ("po.x12", "PO 1")
    assert got.content_type == "application/edi-x12"
    assert (got.signed, got.encrypted, got.compressed) == (bool(signing), bool(encryption), False)
    expected = got.mic if signing and mdn == ("sync", SigningAlg.SHA256) else None
    assert plan.mic == expected
    if encryption is not None and encoding == TransferEncoding.BINARY:
        # DER as asn1crypto itself writes it: no stray length
        assert asn1_cms.ContentInfo.load(body).dump(force=True) == body
    if encoding == TransferEncoding.BASE64 and (encryption or not signing):
        # The body is the base64 entity itself (signed only, it is a multipart around one).
        assert plan.headers["Content-Transfer-Encoding"] == "base64"
        assert all(len(line) <= 76 for line in body.split(b"\r\n"))


@pytest.mark.parametrize("compression", [Compression.NONE, Compression.BEFORE_SIGNING])
@pytest.mark.parametrize("encoding", list(TransferEncoding))
def test_the_bytes_are_those_build_message_writes_but_the_signature(
    monkeypatch: pytest.MonkeyPatch,
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    encoding: TransferEncoding,
    compression: Compression,
) -> None:
    receiver = replace(
        bob_as_seen_by_alice, encryption=None, encoding=encoding, compression=compression
    )
    monkeypatch.setattr(mime, "new_boundary", lambda *_: "----=_as2bus_fixed")
    mid = "po-1@alice"
    built = as2.build_message(
        EDI, sender=alice, receiver=receiver, filename="po.x12", message_id=mid
    )
    plan, body = stream(EDI, alice, receiver, filename="po.x12", message_id=mid)
    signature = re.compile(rb"(?s)smime\.p7s\"\r\n\r\n.*?\r\n------=_as2bus_fixed--")
    assert signature.sub(b"SIG", body) == signature.sub(b"SIG", built.body)
    assert signature.search(body)
    assert plan.mic == built.mic
    same = {"Content-Type", "Message-ID", "AS2-From", "AS2-To", "Disposition-Notification-Options"}
    assert {k: plan.headers[k] for k in same if k != "Message-ID"} == {
        k: built.headers[k] for k in same if k != "Message-ID"
    }


def test_a_document_in_one_chunk_gives_the_bytes_small_chunks_give(
    monkeypatch: pytest.MonkeyPatch, alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    """The encoder cuts a large chunk into small pieces (buffers small enough to be reused):
    the message is the same whether the store hands the document over whole or in small
    chunks, and ``pieces`` gives ``update``'s bytes unjoined."""
    receiver = replace(bob_as_seen_by_alice, encryption=None, encoding=TransferEncoding.BASE64)
    monkeypatch.setattr(mime, "new_boundary", lambda *_: "----=_as2bus_fixed")
    payload = os.urandom(300_001)
    small_plan, small = stream(payload, alice, receiver, chunk=1000, message_id="po-1@alice")
    whole_plan, whole = stream(
        payload, alice, receiver, chunk=len(payload), message_id="po-1@alice"
    )
    signature = re.compile(rb"(?s)smime\.p7s\"\r\n\r\n.*?\r\n------=_as2bus_fixed--")
    assert signature.sub(b"SIG", whole) == signature.sub(b"SIG", small)
    assert whole_plan.mic == small_plan.mic
    assert len(whole) == whole_plan.length

    encoder = whole_plan.encoder()
    encoder.head()
    pieces = list(encoder.pieces(payload))
    assert len(pieces) > 1
    assert max(map(len, pieces)) < 100_000
    assert b"".join(pieces) == whole_plan.encoder().update(payload)


@pytest.mark.parametrize("encoding", list(TransferEncoding))
def test_openssl_decrypts_and_verifies_a_streamed_message(
    peer: OpensslPeer,
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    encoding: TransferEncoding,
) -> None:
    payload = bytes(range(256)) * 40 + b"\n--not-a-boundary\r\n"
    receiver = replace(bob_as_seen_by_alice, encoding=encoding)
    plan, body = stream(payload, alice, receiver, chunk=1000, filename="x.bin")
    if encoding == TransferEncoding.BASE64:
        body = base64.b64decode(body)
    content = _verify_detached(peer, _decrypt(peer, body))
    document = content.split(b"\r\n\r\n", 1)[1]
    if encoding == TransferEncoding.BASE64:
        document = base64.b64decode(document)
    assert document == payload
    assert as2.compute_mic(content, SigningAlg.SHA256) == plan.mic


def test_every_attempt_encrypts_with_a_new_key_and_the_same_length(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    streamer = Streamer(len(EDI), sender=alice, receiver=bob_as_seen_by_alice)
    streamer.digest(EDI)
    plan = streamer.plan()
    first, second = plan.encoder(), plan.encoder()
    bodies = [e.head() + e.update(EDI) + e.finish() for e in (first, second)]
    assert bodies[0] != bodies[1]
    assert len(bodies[0]) == len(bodies[1]) == plan.length


@pytest.mark.parametrize(
    ("encoding", "compression", "size"),
    [
        (TransferEncoding.BINARY, Compression.NONE, 24 << 20),
        (TransferEncoding.BASE64, Compression.NONE, 8 << 20),  # tracemalloc slows base64
        (TransferEncoding.BINARY, Compression.BEFORE_SIGNING, 8 << 20),
        (TransferEncoding.BASE64, Compression.AFTER_SIGNING, 8 << 20),
    ],
)
def test_a_large_document_is_built_in_bounded_memory(
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    encoding: TransferEncoding,
    compression: Compression,
    size: int,
) -> None:
    chunk = 128 * 1024
    piece = os.urandom(chunk)
    receiver = replace(bob_as_seen_by_alice, encoding=encoding, compression=compression)
    tracemalloc.start()
    try:
        streamer = Streamer(size, sender=alice, receiver=receiver)
        for _ in range(size // chunk):
            streamer.digest(piece)
        plan = streamer.plan()
        encoder, total = plan.encoder(), 0
        total += len(encoder.head())
        for _ in range(size // chunk):
            total += len(encoder.update(piece))
        total += len(encoder.finish())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == plan.length > size
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes for a {size}-byte document"


@pytest.mark.parametrize("chunk", [7, 20_000])
@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize("encryption", [EncryptionAlg.AES128, EncryptionAlg.AES256_GCM, None])
@pytest.mark.parametrize("signing", [SigningAlg.SHA256, None])
@pytest.mark.parametrize("compression", [Compression.BEFORE_SIGNING, Compression.AFTER_SIGNING])
def test_compressed_messages_stream_with_the_length_announced(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    compression: Compression,
    signing: SigningAlg | None,
    encryption: EncryptionAlg | None,
    encoding: TransferEncoding,
    chunk: int,
) -> None:
    receiver = replace(
        bob_as_seen_by_alice,
        compression=compression,
        signing=signing,
        encryption=encryption,
        encoding=encoding,
    )
    payload = EDI * 40 + os.urandom(20_000)  # compressible, then not: several segments
    plan, body = stream(payload, alice, receiver, chunk=chunk, filename="po.x12")
    assert len(body) == plan.length == int(plan.headers["Content-Length"])
    sender = replace(
        alice_as_seen_by_bob, require_signed=bool(signing), require_encrypted=bool(encryption)
    )
    got = as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, sender))
    assert (got.payload, got.filename) == (payload, "po.x12")
    assert (got.compressed, got.signed, got.encrypted) == (True, bool(signing), bool(encryption))
    assert plan.mic == (got.mic if signing else None)


@pytest.mark.parametrize(("first", "second"), [(7, 65_536), (65_536, 1), (1000, 999)])
@pytest.mark.parametrize("compression", [Compression.BEFORE_SIGNING, Compression.AFTER_SIGNING])
def test_the_two_readings_may_cut_the_document_differently(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    compression: Compression,
    first: int,
    second: int,
) -> None:
    """zlib writes the same bytes however its input is cut: the length counted in the first
    reading holds in the second, whatever chunks the document store gives each time."""
    receiver = replace(bob_as_seen_by_alice, compression=compression)
    payload = (EDI + os.urandom(300)) * 200
    streamer = Streamer(len(payload), sender=alice, receiver=receiver)
    for piece in _pieces(payload, first):
        streamer.digest(piece)
    plan = streamer.plan()
    encoder = plan.encoder()
    body = encoder.head() + b"".join(encoder.update(p) for p in _pieces(payload, second))
    body += encoder.finish()
    assert len(body) == plan.length
    got = as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob))
    assert (got.payload, got.mic) == (payload, plan.mic)


def test_a_document_that_changed_between_the_readings_is_not_sent_with_a_wrong_length(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    receiver = replace(bob_as_seen_by_alice, compression=Compression.AFTER_SIGNING)
    streamer = Streamer(len(EDI), sender=alice, receiver=receiver)
    streamer.digest(EDI)
    encoder = streamer.plan().encoder()
    encoder.head()
    encoder.update(os.urandom(len(EDI)))  # same length, compresses differently
    with pytest.raises(RuntimeError, match="changed between the two readings"):
        encoder.finish()


def test_a_document_holding_its_boundary_is_refused_even_across_chunks(
    monkeypatch: pytest.MonkeyPatch, alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    monkeypatch.setattr(mime, "new_boundary", lambda *_: "----=_as2bus_fixed")
    payload = b"x" * 50 + b"------=_as2bus_fixed" + b"y" * 50
    streamer = Streamer(len(payload), sender=alice, receiver=bob_as_seen_by_alice)
    pieces = list(_pieces(payload, 7))
    for piece in pieces[:7]:  # "x" * 50 and the marker's first byte: fine so far
        streamer.digest(piece)
    with pytest.raises(BoundaryInContentError):  # noqa: PT012 (the marker spans 3 pieces)
        for piece in pieces[7:10]:
            streamer.digest(piece)


def test_settings_that_cannot_be_sent_are_refused_before_reading(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    no_key = replace(alice, signing=None)
    with pytest.raises(ValueError, match="needs a key"):
        Streamer(10, sender=no_key, receiver=bob_as_seen_by_alice)
