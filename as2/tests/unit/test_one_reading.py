"""One reading of the document (``Streamer.plan_ahead``): when nothing is compressed or
canonicalized, every length is known before reading, the signature part's included (RSA
signatures are as long as the modulus); the reading that sends the body digests, signs and
looks for the boundaries. The bytes are those of two readings but the signature, openssl and
pyas2lib open them, and the length planned is the length built for every way we sign."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Iterator

import pytest

from as2bus import as2
from as2bus.as2 import KeyPair, LocalParty, RemoteParty, cms_write, mime
from as2bus.as2.algorithms import (
    Compression,
    EncryptionAlg,
    SignatureScheme,
    SigningAlg,
    TransferEncoding,
)
from as2bus.as2.model import AttachmentInfo
from as2bus.as2.streaming import BoundaryInContentError, Streamer, StreamPlan
from as2bus.peers import pyas2lib_peer

from .conftest import EDI, OpensslPeer, make_pair, replace
from .test_write_openssl import openssl_decrypt, openssl_verify

KEY_BITS = [2048, 3072, 4096]
#: Also 2049 bits: a 257-byte signature whose first byte is 0 half the time (I2OSP keeps it).
ODD_BITS = 2049
SCHEMES = list(itertools.product(SigningAlg, SignatureScheme))
PAYLOAD = EDI * 3 + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
PDF = bytes(range(256)) * 9
NOTE = b"a note\n"


@pytest.fixture(scope="module")
def signers() -> dict[int, KeyPair]:
    return {bits: make_pair(f"alice-{bits}", bits) for bits in [*KEY_BITS, ODD_BITS]}


def _pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def one_reading(
    documents: list[bytes],
    sender: LocalParty,
    receiver: RemoteParty,
    chunk: int = 1000,
    message_id: str | None = None,
) -> tuple[StreamPlan, bytes]:
    """The plan made ahead, then the one reading, in ``chunk`` pieces across the documents."""
    first, *more = documents
    infos = [AttachmentInfo(len(d), f"part{i}.bin", "application/octet-stream")
             for i, d in enumerate(more)]  # fmt: skip
    streamer = Streamer(len(first), sender=sender, receiver=receiver, filename="po.x12",
                        attachments=infos, message_id=message_id)  # fmt: skip
    assert streamer.single_pass
    plan = streamer.plan_ahead()
    encoder = plan.encoder()
    body = encoder.head()
    body += b"".join(encoder.update(p) for p in _pieces(b"".join(documents), chunk))
    return plan, body + encoder.finish()


def two_readings(
    payload: bytes, sender: LocalParty, receiver: RemoteParty
) -> tuple[StreamPlan, bytes]:
    streamer = Streamer(len(payload), sender=sender, receiver=receiver, filename="po.x12")
    for piece in _pieces(payload, 1000):
        streamer.digest(piece)
    plan = streamer.plan()
    encoder = plan.encoder()
    return plan, encoder.head() + encoder.update(payload) + encoder.finish()


@pytest.mark.parametrize("bits", [*KEY_BITS, ODD_BITS])
@pytest.mark.parametrize(("alg", "scheme"), SCHEMES)
def test_the_signed_datas_length_is_known_before_the_digest(
    signers: dict[int, KeyPair], bits: int, alg: SigningAlg, scheme: SignatureScheme
) -> None:
    planned = cms_write.signed_data_length(alg, signers[bits], scheme)
    for i in range(8):  # PSS salts are random; with 2049 bits, leading zero bytes come often
        digest = hashlib.new(alg.value, b"%d" % i).digest()
        der = cms_write.sign_digest(digest, alg, signers[bits], scheme=scheme)
        assert len(der) == planned


@pytest.mark.parametrize("attachments", [[], [PDF, b"", NOTE]], ids=["one", "related"])
@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize("encryption", [None, EncryptionAlg.AES256, EncryptionAlg.AES128_GCM])
@pytest.mark.parametrize("bits", KEY_BITS)
@pytest.mark.parametrize(("alg", "scheme"), SCHEMES)
def test_the_length_planned_is_the_length_built(
    signers: dict[int, KeyPair],
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    alg: SigningAlg,
    scheme: SignatureScheme,
    bits: int,
    encryption: EncryptionAlg | None,
    encoding: TransferEncoding,
    attachments: list[bytes],
) -> None:
    sender = replace(alice, signing=signers[bits])
    receiver = replace(bob_as_seen_by_alice, signing=alg, signature_scheme=scheme,
                       encryption=encryption, encoding=encoding)  # fmt: skip
    plan, body = one_reading([PAYLOAD, *attachments], sender, receiver, chunk=4093)
    assert len(body) == plan.length == int(plan.headers["Content-Length"])
    them = replace(alice_as_seen_by_bob, verify_certs=[signers[bits].cert_pem],
                   require_encrypted=False)  # fmt: skip
    got = as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, them))
    assert (got.payload, [a.payload for a in got.attachments]) == (PAYLOAD, attachments)
    assert (got.signed, got.encrypted, got.mic_alg) == (True, bool(encryption), alg)
    assert plan.mic == got.mic  # known once the reading got to the end


@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize("attachments", [[], [PDF, NOTE]], ids=["one", "related"])
def test_one_reading_writes_the_bytes_two_readings_write_but_the_signature(
    monkeypatch: pytest.MonkeyPatch,
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    encoding: TransferEncoding,
    attachments: list[bytes],
) -> None:
    # Each message: the multipart/related's boundary (with attachments), then the signed one's.
    names = ["----=_as2bus_related"] * bool(attachments) + ["----=_as2bus_fixed"]
    boundaries = itertools.cycle(names)
    monkeypatch.setattr(mime, "new_boundary", lambda *_: next(boundaries))
    receiver = replace(bob_as_seen_by_alice, encryption=None, encoding=encoding)
    documents = [PAYLOAD, *attachments]
    once_plan, once = one_reading(documents, alice, receiver, chunk=7, message_id="same@as2bus")
    infos = [AttachmentInfo(len(d), f"part{i}.bin", "application/octet-stream")
             for i, d in enumerate(attachments)]  # fmt: skip
    streamer = Streamer(len(PAYLOAD), sender=alice, receiver=receiver, filename="po.x12",
                        attachments=infos, message_id="same@as2bus")  # fmt: skip
    streamer.digest(b"".join(documents))
    twice_plan = streamer.plan()
    encoder = twice_plan.encoder()
    twice = encoder.head() + encoder.update(b"".join(documents)) + encoder.finish()
    signature = re.compile(rb"(?s)smime\.p7s\"\r\n\r\n.*?\r\n------=_as2bus_fixed--")
    assert signature.sub(b"SIG", once) == signature.sub(b"SIG", twice)
    assert len(once) == len(twice)
    own = ("Message-ID", "Date")
    assert {k: v for k, v in once_plan.headers.items() if k not in own} == {
        k: v for k, v in twice_plan.headers.items() if k not in own
    }


@pytest.mark.parametrize(("alg", "scheme"), SCHEMES)
@pytest.mark.parametrize("encoding", list(TransferEncoding))
def test_openssl_decrypts_and_verifies_a_message_of_one_reading(
    peer: OpensslPeer,
    signers: dict[int, KeyPair],
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alg: SigningAlg,
    scheme: SignatureScheme,
    encoding: TransferEncoding,
) -> None:
    sender = replace(alice, signing=signers[3072])
    receiver = replace(bob_as_seen_by_alice, signing=alg, signature_scheme=scheme,
                       encoding=encoding)  # fmt: skip
    plan, body = one_reading([PAYLOAD], sender, receiver)
    der = base64.b64decode(body) if encoding == TransferEncoding.BASE64 else body
    signed = openssl_decrypt(peer, der)
    content = openssl_verify(peer, signed)
    leaf = mime.parse_entity(content)
    document = base64.b64decode(leaf.body) if encoding == TransferEncoding.BASE64 else leaf.body
    assert document == PAYLOAD
    assert as2.compute_mic(content, alg) == plan.mic


@pytest.mark.parametrize("encryption", [EncryptionAlg.AES256, None])
def test_pyas2lib_reads_a_message_of_one_reading(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    encryption: EncryptionAlg | None,
) -> None:
    """pyas2lib (as in django-pyas2) as the partner: it decrypts, verifies the signature over
    the digest taken while the body was written, and computes the MIC we expect."""
    receiver = replace(bob_as_seen_by_alice, encryption=encryption)
    plan, body = one_reading([PAYLOAD], alice, receiver)
    raw = "".join(f"{k}: {v}\r\n" for k, v in plan.headers.items()).encode() + b"\r\n" + body
    theirs = pyas2lib_peer.pyas2.Message()
    status, (error, _), mdn = theirs.parse(
        raw,
        find_org_partner_cb=lambda _o, _p: (
            pyas2lib_peer.to_organization(bob),
            pyas2lib_peer.to_partner(replace(alice_as_seen_by_bob, encryption=encryption)),
        ),
    )
    assert (status, error) == ("processed", None)
    assert theirs.payload.get_payload(decode=True) == PAYLOAD
    assert mdn is not None
    report = as2.parse_mdn(mdn.headers, mdn.content, verify_certs=[bob.signing.cert_pem])  # type: ignore[union-attr]
    assert (report.disposition, report.signature_valid) == ("processed", True)
    assert report.mic == plan.mic


def test_only_compression_and_canonical_line_ends_need_a_first_reading(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    def single(**changes: object) -> bool:
        receiver = replace(bob_as_seen_by_alice, **changes)
        return Streamer(10, sender=alice, receiver=receiver).single_pass

    assert single()
    assert single(signing=None, encryption=None)
    assert single(encoding=TransferEncoding.BASE64, signature_scheme=SignatureScheme.PSS)
    assert not single(compression=Compression.BEFORE_SIGNING)
    assert not single(compression=Compression.AFTER_SIGNING)
    assert not single(canonicalize_line_endings=True)
    compressed = replace(bob_as_seen_by_alice, compression=Compression.BEFORE_SIGNING)
    with pytest.raises(ValueError, match="digest"):
        Streamer(10, sender=alice, receiver=compressed).plan_ahead()


def test_the_mic_is_known_once_the_body_was_written(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    receiver = replace(bob_as_seen_by_alice, mdn_mode="sync", mdn_signing=SigningAlg.SHA256)
    mid = "po-1@alice"
    plan = Streamer(len(EDI), sender=alice, receiver=receiver, message_id=mid).plan_ahead()
    with pytest.raises(RuntimeError, match="once the whole body"):
        _ = plan.mic
    encoder = plan.encoder()
    encoder.head()
    encoder.update(EDI)
    with pytest.raises(RuntimeError):  # the document went by, but not the end of the body
        _ = plan.mic
    encoder.finish()
    assert plan.mic == as2.build_message(EDI, sender=alice, receiver=receiver, message_id=mid).mic
    unsigned_mdn = replace(receiver, mdn_signing=None)
    assert Streamer(1, sender=alice, receiver=unsigned_mdn).plan_ahead().mic is None


def test_a_later_reading_sends_the_signature_of_the_first(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """httpx sends a body again after a token refresh: the same content, the same signature,
    a new content key; a reading broken off (the connection lost) signs nothing."""
    plan = Streamer(len(EDI), sender=alice, receiver=bob_as_seen_by_alice).plan_ahead()
    broken = plan.encoder()
    broken.head()
    broken.update(EDI[:100])
    bodies = []
    for _ in range(2):
        encoder = plan.encoder()
        bodies.append(encoder.head() + encoder.update(EDI) + encoder.finish())
    assert bodies[0] != bodies[1]
    assert len(bodies[0]) == len(bodies[1]) == plan.length
    got = [as2.parse_message(plan.headers, b, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob))
           for b in bodies]  # fmt: skip
    assert got[0].payload == got[1].payload == EDI
    assert got[0].mic == got[1].mic


def test_a_signature_longer_than_planned_fails_loudly(
    monkeypatch: pytest.MonkeyPatch, alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    """Should a signature ever differ in length (a key type of varying length slipped in), the
    reading fails before its last bytes instead of sending a wrong Content-Length."""
    receiver = replace(bob_as_seen_by_alice, encryption=None)
    plan = Streamer(len(EDI), sender=alice, receiver=receiver).plan_ahead()
    real = cms_write.sign_digest
    monkeypatch.setattr(cms_write, "sign_digest", lambda *a, **k: real(*a, **k) + b"\x00")
    encoder = plan.encoder()
    encoder.head()
    encoder.update(EDI)
    with pytest.raises(RuntimeError, match=r"not the \d+ planned"):
        encoder.finish()


@pytest.mark.parametrize("attachments", [[], [NOTE]], ids=["signed", "related"])
def test_a_document_holding_its_boundary_fails_the_reading_and_a_new_build_sends_it(
    monkeypatch: pytest.MonkeyPatch,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    attachments: list[bytes],
) -> None:
    """Never seen (a uuid4 in each boundary), but checked: with one reading it is found
    while the body is sent, across chunks, and that attempt fails; the next attempt builds
    the message again, with boundaries of its own."""
    payload = b"x" * 50 + b"------=_as2bus_fixed" + b"y" * 50
    # The one the document holds: the multipart/related's (RelatedRun finds it), or the
    # multipart/signed's when there is no other (SignRun finds it).
    boundaries = iter(["----=_as2bus_fixed", "----=_as2bus_other"])
    with monkeypatch.context() as fixed:
        fixed.setattr(mime, "new_boundary", lambda *_: next(boundaries))
        streamer = Streamer(len(payload), sender=alice, receiver=bob_as_seen_by_alice,
                            attachments=[AttachmentInfo(len(a)) for a in attachments])  # fmt: skip
        plan = streamer.plan_ahead()
    encoder = plan.encoder()
    encoder.head()
    pieces = list(_pieces(payload, 7))
    for piece in pieces[:7]:  # "x" * 50 and the marker's first byte: fine so far
        encoder.update(piece)
    with pytest.raises(BoundaryInContentError):  # noqa: PT012 (the marker spans 3 pieces)
        for piece in pieces[7:10]:
            encoder.update(piece)
    with pytest.raises(RuntimeError):
        _ = plan.mic  # nothing to expect from a body that was not sent
    plan, body = one_reading([payload, *attachments], alice, bob_as_seen_by_alice)
    got = as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob))
    assert got.payload == payload
