"""Several documents in one message (RFC 6362 multiple attachments): built in memory and
streamed (chunks that cut across documents), parsed in memory and from a file, byte for byte,
with their file names and types and the MIC over the whole multipart/related; what is refused."""

from __future__ import annotations

import base64
import email
import hashlib
import io
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from email.message import Message

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty, mime, spool_documents, spool_io
from as2bus.as2.algorithms import Compression, EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.as2.streaming import BoundaryInContentError, Streamer, StreamPlan

from .conftest import CRLF_EDI, EDI, replace
from .spooled_helpers import TempFiles, spool, watch_temp_files


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


#: The documents a message carries (the first ``n``): line ends of every kind, random bytes,
#: an empty one, one that looks like MIME.
DOCUMENTS = [
    (EDI, "po.x12", "application/edi-x12"),
    (os.urandom(1001), "../../etc/blob.bin", "application/octet-stream"),
    (b"", None, "application/edi-x12"),
    (b"Content-Type: text/plain\r\n\r\n--not-a-boundary\r\n\n\r" + CRLF_EDI, "a.txt", "text/plain"),
    (os.urandom(57 * 3), "lines.bin", "application/xml"),  # exactly 3 base64 lines
]
#: What the receiver sees of each file name: no directories.
SAFE_NAMES = ["po.x12", "blob.bin", None, "a.txt", "lines.bin"]

#: (signing, encryption, compression) of the partnership.
LAYOUTS = [
    (None, None, Compression.NONE),
    (SigningAlg.SHA256, None, Compression.NONE),
    (None, EncryptionAlg.AES128, Compression.NONE),
    (SigningAlg.SHA384, EncryptionAlg.AES256, Compression.NONE),
    (SigningAlg.SHA256, EncryptionAlg.AES256, Compression.BEFORE_SIGNING),
    (SigningAlg.SHA512, None, Compression.AFTER_SIGNING),
    (None, EncryptionAlg.AES256_GCM, Compression.BEFORE_SIGNING),
]


def attachments(n: int) -> list[as2.Attachment]:
    return [as2.Attachment(p, f, t) for p, f, t in DOCUMENTS[1:n]]


def infos(docs: Sequence[as2.Attachment]) -> list[as2.AttachmentInfo]:
    return [as2.AttachmentInfo(len(a.payload), a.filename, a.content_type) for a in docs]


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def stream(
    alice: LocalParty,
    receiver: RemoteParty,
    documents: Sequence[as2.Attachment],
    chunks: tuple[int, int] = (7, 1000),
) -> tuple[StreamPlan, bytes]:
    """Both readings of the documents' concatenation, each cut in its own odd chunk size
    (which cuts across the documents' edges)."""
    first, *rest = documents
    streamer = Streamer(
        len(first.payload),
        sender=alice,
        receiver=receiver,
        filename=first.filename,
        content_type=first.content_type,
        attachments=infos(rest),
    )
    data = b"".join(d.payload for d in documents)
    for piece in pieces(data, chunks[0]):
        streamer.digest(piece)
    plan = streamer.plan()
    encoder = plan.encoder()
    body = encoder.head() + b"".join(encoder.update(p) for p in pieces(data, chunks[1]))
    return plan, body + encoder.finish()


def check(got: as2.ReceivedMessage, n: int) -> None:
    """The documents as sent, in order, with their (safe) file names and types."""
    assert got.payload == DOCUMENTS[0][0]
    assert (got.filename, got.content_type) == ("po.x12", "application/edi-x12")
    received = [(a.payload, a.filename, a.content_type) for a in got.attachments]
    sent = [(p, name, t) for (p, _, t), name in zip(DOCUMENTS, SAFE_NAMES, strict=True)]
    assert received == sent[1:n]
    assert all(a.payload_file is None for a in got.attachments)


def read_spooled(got: as2.ReceivedMessage) -> as2.ReceivedMessage:
    """The documents from their file ranges (one file or several, each closed once)."""
    assert got.payload == b""
    ranges = [got.payload_file, *(a.payload_file for a in got.attachments)]
    data = []
    for r in ranges:
        assert r is not None
        r.file.seek(r.offset)
        data.append(r.file.read(r.size))
        assert len(data[-1]) == r.size
    for file in {id(r.file): r.file for r in ranges if r}.values():
        file.close()
    found = [
        replace(a, payload=d, payload_file=None)
        for a, d in zip(got.attachments, data[1:], strict=True)
    ]
    return replace(got, payload=data[0], payload_file=None, attachments=tuple(found))


@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize(("signing", "encryption", "compression"), LAYOUTS)
def test_documents_arrive_as_sent_built_in_memory_or_streamed_parsed_either_way(
    monkeypatch: pytest.MonkeyPatch,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    n: int,
    encoding: TransferEncoding,
    signing: SigningAlg | None,
    encryption: EncryptionAlg | None,
    compression: Compression,
) -> None:
    receiver = replace(
        bob_as_seen_by_alice,
        encoding=encoding,
        signing=signing,
        encryption=encryption,
        compression=compression,
    )
    sender = replace(
        alice_as_seen_by_bob, require_signed=bool(signing), require_encrypted=bool(encryption)
    )
    first = as2.Attachment(*DOCUMENTS[0])
    built = as2.build_message(
        first.payload,
        sender=alice,
        receiver=receiver,
        filename=first.filename,
        attachments=attachments(n),
    )
    plan, body = stream(alice, receiver, [first, *attachments(n)])
    assert len(body) == plan.length == int(plan.headers["Content-Length"])
    assert plan.headers["EDIINT-Features"] == "AS2-Reliability, multiple-attachments"
    monkeypatch.setattr(spool_io, "CHUNK", 61)  # the file read in small pieces

    def lookup(_f: str, _t: str) -> tuple[LocalParty, RemoteParty]:
        return bob, sender

    for headers, message, mic in (
        (built.headers, built.body, built.mic),
        (plan.headers, body, plan.mic),
    ):
        got = as2.parse_message(headers, message, lookup=lookup)
        check(got, n)
        assert (got.signed, got.encrypted) == (bool(signing), bool(encryption))
        assert got.compressed == (compression != Compression.NONE)
        if signing:
            assert (got.mic, got.mic_alg) == (mic, signing)
        from_file = spool(bob, sender, headers, io.BytesIO(message))
        assert from_file is not None
        assert read_spooled(from_file) == got
    if not (encryption or compression):
        inner = built.body if signing is None else first_signed_part(built)
        assert (b"multipart/related" in inner) == (n > 1)
    if signing and not (encryption or compression):
        # The MIC is the digest of the whole signed entity: the multipart/related, headers and all.
        digest = hashlib.new(signing.value, first_signed_part(built)).digest()
        assert built.mic == base64.b64encode(digest).decode()


def first_signed_part(built: as2.OutgoingMessage) -> bytes:
    """The signed content of a multipart/signed body, split by hand."""
    boundary = re.search(r'boundary="?([^";]+)', built.headers["Content-Type"])
    assert boundary is not None
    marker = b"\r\n--" + boundary.group(1).encode()
    head = b"--" + boundary.group(1).encode() + b"\r\n"
    assert built.body.startswith(head)
    return built.body[len(head) : built.body.index(marker)]


@pytest.mark.parametrize("encoding", list(TransferEncoding))
def test_the_multipart_related_is_what_rfc_6362_describes(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty, encoding: TransferEncoding
) -> None:
    """Read with ``email`` (not our splitter): the root's type in ``type``, a part per
    document with its type, transfer encoding and file name."""
    receiver = replace(bob_as_seen_by_alice, signing=None, encryption=None, encoding=encoding)
    built = as2.build_message(
        EDI, sender=alice, receiver=receiver, filename="po.x12", attachments=attachments(5)
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in built.headers.items()).encode()
    message = email.message_from_bytes(head + b"\r\n" + built.body)
    assert message.get_content_type() == "multipart/related"
    assert message.get_param("type") == "application/edi-x12"
    parts = message.get_payload()
    assert isinstance(parts, list)
    cte = "base64" if encoding == TransferEncoding.BASE64 else "binary"
    for part, (payload, filename, content_type) in zip(parts, DOCUMENTS, strict=True):
        assert isinstance(part, Message)
        assert (part.get_content_type(), part.get_filename()) == (content_type, filename)
        assert part["Content-Transfer-Encoding"] == cte
        if encoding == TransferEncoding.BASE64:
            assert part.get_payload(decode=True) == payload


def test_one_document_is_built_as_before(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    receiver = replace(bob_as_seen_by_alice, signing=None, encryption=None)
    one = as2.build_message(EDI, sender=alice, receiver=receiver, filename="po.x12")
    none = as2.build_message(
        EDI, sender=alice, receiver=receiver, filename="po.x12", attachments=()
    )
    assert one.body == none.body
    assert one.body == EDI  # the document's own entity, its header fields in the POST's
    assert one.headers["Content-Type"] == "application/edi-x12"
    assert one.headers["Content-Disposition"] == 'attachment; filename="po.x12"'


def test_mdns_announce_multiple_attachments(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    built = as2.build_message(
        EDI, sender=alice, receiver=bob_as_seen_by_alice, attachments=attachments(2)
    )
    got = as2.parse_message(
        built.headers, built.body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
    )
    mdn = as2.build_mdn(got, local=bob)
    assert mdn.headers["EDIINT-Features"] == "AS2-Reliability, multiple-attachments"


@pytest.mark.parametrize("chunks", [(1, 3), (5, 2), (1 << 20, 13)])
def test_the_two_readings_may_cut_the_documents_differently(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    chunks: tuple[int, int],
) -> None:
    receiver = replace(bob_as_seen_by_alice, encoding=TransferEncoding.BASE64)
    documents = [as2.Attachment(p, f, t) for p, f, t in DOCUMENTS]
    plan, body = stream(alice, receiver, documents, chunks)
    assert len(body) == plan.length
    check(
        as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)), 5
    )


# -- refusals ------------------------------------------------------------------------------


def fixed_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The multipart/related's boundary is "----=_as2bus_related", the others differ."""
    names = itertools.chain(
        ["----=_as2bus_related"], (f"----=_as2bus_{i}" for i in itertools.count())
    )
    monkeypatch.setattr(mime, "new_boundary", lambda *_: next(names))


@pytest.mark.parametrize("signing", [SigningAlg.SHA256, None])  # None: only a check reads first
@pytest.mark.parametrize("where", [0, 1, 2])
def test_a_document_holding_the_boundary_is_refused_even_across_chunks(
    monkeypatch: pytest.MonkeyPatch,
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    signing: SigningAlg | None,
    where: int,
) -> None:
    fixed_boundaries(monkeypatch)
    receiver = replace(bob_as_seen_by_alice, signing=signing)
    docs = [as2.Attachment(b"a" * 30), as2.Attachment(b"b" * 40), as2.Attachment(b"c" * 20)]
    holding = b"x" * 11 + b"\r\n------=_as2bus_related\r\n" + b"y" * 5
    docs[where] = as2.Attachment(holding)
    with pytest.raises(BoundaryInContentError, match=f"document {where + 1} contains"):
        stream(alice, receiver, docs, (7, 7))
    fixed_boundaries(monkeypatch)
    with pytest.raises(BoundaryInContentError):
        as2.build_message(docs[0].payload, sender=alice, receiver=receiver, attachments=docs[1:])


def test_a_boundary_split_between_two_documents_is_no_boundary(
    monkeypatch: pytest.MonkeyPatch,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    """Their part delimiter lies between them: the documents arrive as they are."""
    fixed_boundaries(monkeypatch)
    docs = [as2.Attachment(b"one\r\n------=_as2bus_re"), as2.Attachment(b"lated\r\ntwo")]
    plan, body = stream(alice, bob_as_seen_by_alice, docs, (3, 5))
    got = as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob))
    assert [got.payload, *(a.payload for a in got.attachments)] == [d.payload for d in docs]


def test_documents_of_other_sizes_than_announced_are_refused(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    docs = [as2.Attachment(b"abc"), as2.Attachment(b"defg")]
    streamer = Streamer(3, sender=alice, receiver=bob_as_seen_by_alice, attachments=infos(docs[1:]))
    streamer.digest(b"abcdefg")
    with pytest.raises(ValueError, match="longer than their sizes"):
        streamer.digest(b"h")
    streamer = Streamer(3, sender=alice, receiver=bob_as_seen_by_alice, attachments=infos(docs[1:]))
    streamer.digest(b"abcdef")
    with pytest.raises(ValueError, match="document 2 ended 1 bytes short"):
        streamer.plan()
    with pytest.raises(ValueError, match="negative"):
        Streamer(
            3, sender=alice, receiver=bob_as_seen_by_alice, attachments=[as2.AttachmentInfo(-1)]
        )
    with pytest.raises(ValueError, match="one line"):
        as2.build_message(
            b"x", sender=alice, receiver=bob_as_seen_by_alice,
            attachments=[as2.Attachment(b"y", content_type="text/plain\r\nX-Evil: 1")],
        )  # fmt: skip


@pytest.mark.parametrize(
    ("encoding", "encryption"),
    [
        (TransferEncoding.BINARY, EncryptionAlg.AES256),  # the parts left in the plaintext
        (TransferEncoding.BASE64, EncryptionAlg.AES256),  # decoded into a file of their own
        (TransferEncoding.BINARY, None),  # copied out of the body
    ],
)
def test_the_payload_limit_bounds_all_documents_together(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    encoding: TransferEncoding,
    encryption: EncryptionAlg | None,
) -> None:
    receiver = replace(bob_as_seen_by_alice, encoding=encoding, encryption=encryption)
    sender = replace(alice_as_seen_by_bob, require_encrypted=bool(encryption))
    docs = [os.urandom(400), os.urandom(400), os.urandom(200)]  # 1000 bytes, each under 500
    built = as2.build_message(
        docs[0], sender=alice, receiver=receiver, attachments=[as2.Attachment(d) for d in docs[1:]]
    )

    def lookup(_f: str, _t: str) -> tuple[LocalParty, RemoteParty]:
        return bob, sender

    for limit in (999, 500):
        with pytest.raises(as2.As2Error, match=f"exceeds {limit} bytes") as err:
            as2.parse_message(built.headers, built.body, lookup=lookup, max_payload_bytes=limit)
        assert err.value.modifier == "unexpected-processing-error"
        with pytest.raises(as2.As2Error, match=f"exceeds {limit} bytes"):
            spool(bob, sender, built.headers, built.body, max_payload_bytes=limit)
    got = as2.parse_message(built.headers, built.body, lookup=lookup, max_payload_bytes=1000)
    assert [got.payload, *(a.payload for a in got.attachments)] == docs
    from_file = spool(bob, sender, built.headers, built.body, max_payload_bytes=1000)
    assert from_file is not None
    assert read_spooled(from_file) == got


def test_too_many_parts_are_refused(
    monkeypatch: pytest.MonkeyPatch,
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
) -> None:
    monkeypatch.setattr(spool_documents, "PART_LIMIT", 4)
    built = as2.build_message(
        EDI, sender=alice, receiver=bob_as_seen_by_alice, attachments=attachments(5)
    )
    with pytest.raises(as2.As2Error, match="more than 4 documents"):
        as2.parse_message(
            built.headers, built.body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
        )
    built = as2.build_message(
        EDI, sender=alice, receiver=bob_as_seen_by_alice, attachments=attachments(4)
    )
    got = as2.parse_message(
        built.headers, built.body, lookup=lambda _f, _t: (bob, alice_as_seen_by_bob)
    )
    assert len(got.attachments) == 3


def plain(entity: bytes) -> tuple[dict[str, str], bytes]:
    """An entity POSTed as it is (an unprotected partnership), headers split off."""
    head, _, body = entity.partition(b"\r\n\r\n")
    headers = {
        "AS2-Version": "1.2",
        "AS2-From": "ALICE",
        "AS2-To": "BOB",
        "Message-ID": "<hand-1@alice>",
    }
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        headers[name] = value.strip()
    return headers, body


@pytest.mark.parametrize(
    ("entity", "reason"),
    [
        (
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\none\r\n--b--\r\n',
            r"multipart/mixed.*one document per message",
        ),
        (
            b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n'
            b'Content-Type: multipart/mixed; boundary="c"\r\n\r\n--c\r\n\r\none\r\n--c--\r\n'
            b"--b--\r\n",
            r"multipart/mixed inside the multipart/related",
        ),
        (b"Content-Type: multipart/related\r\n\r\n--b\r\n\r\none\r\n--b--\r\n", "no boundary"),
        (b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b--\r\n', "no parts"),
        (b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n\r\none\r\n', "truncated"),
        (
            b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n\r\none\r\n--b\r\n'
            b"Content-Transfer-Encoding: x-rot13\r\n\r\ntwo\r\n--b--\r\n",
            "unknown Content-Transfer-Encoding",
        ),
    ],
)
def test_what_is_not_a_multipart_related_of_documents_is_refused_clearly(
    bob: LocalParty, alice_as_seen_by_bob: RemoteParty, entity: bytes, reason: str
) -> None:
    them = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=False)
    headers, body = plain(entity)
    with pytest.raises(as2.As2Error, match=reason) as err:
        as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, them))
    assert err.value.modifier == "unexpected-processing-error"
    with pytest.raises(as2.As2Error, match=reason):
        spool(bob, them, headers, body)


def test_a_preamble_epilogue_and_parts_without_headers_are_read(
    bob: LocalParty, alice_as_seen_by_bob: RemoteParty
) -> None:
    them = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=False)
    entity = (
        b'Content-Type: multipart/related; boundary="b"; type="application/edi-x12"\r\n\r\n'
        b"a preamble\r\n--b\r\nContent-Type: application/edi-x12\r\n\r\nISA*01~\n\r\n"
        b"--b\r\n\r\nno headers\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        b"Content-Type: text/plain\r\n\r\nsoft=\r\nbreak=3D\r\n--b--\r\nan epilogue\r\n"
    )
    headers, body = plain(entity)
    got = as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, them))
    assert (got.payload, got.content_type) == (b"ISA*01~\n", "application/edi-x12")
    assert [(a.payload, a.content_type, a.filename) for a in got.attachments] == [
        (b"no headers", "text/plain", None),
        (b"softbreak=", "text/plain", None),
    ]
    from_file = spool(bob, them, headers, body)
    assert from_file is not None
    assert read_spooled(from_file) == got


EDGY = st.binary(max_size=200) | st.sampled_from([b"", b"\r", b"\n", b"--", b"\r\n--x\r\n"])


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    documents=st.lists(EDGY, min_size=2, max_size=5),  # one alone, empty, has no body
    chunks=st.tuples(st.integers(1, 64), st.integers(1, 64)),
    encoding=st.sampled_from(list(TransferEncoding)),
)
def test_any_documents_in_any_chunks_arrive_as_sent(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    documents: list[bytes],
    chunks: tuple[int, int],
    encoding: TransferEncoding,
) -> None:
    """Unprotected (no keys used: fast), so only the multipart/related is tested."""
    receiver = replace(
        bob_as_seen_by_alice, signing=None, encryption=None, mdn_mode=None, encoding=encoding
    )
    them = replace(alice_as_seen_by_bob, require_signed=False, require_encrypted=False)
    docs = [as2.Attachment(d, f"d{i}") for i, d in enumerate(documents)]
    plan, body = stream(alice, receiver, docs, chunks)
    assert len(body) == plan.length
    got = as2.parse_message(plan.headers, body, lookup=lambda _f, _t: (bob, them))
    assert [got.payload, *(a.payload for a in got.attachments)] == documents
    assert [got.filename, *(a.filename for a in got.attachments)] == [d.filename for d in docs]
