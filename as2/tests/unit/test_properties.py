"""Properties over any bytes (Hypothesis): whatever a document holds (binary, CR-only or
LF-only lines, trailing whitespace, nothing at all, a line that looks like a MIME boundary),
it arrives byte for byte, with the MIC the sender expects; and the MIME pieces it goes through
(base64 in pieces, canonical line ends, multipart framing) keep their promises."""

from __future__ import annotations

import binascii
import itertools
from collections.abc import Callable
from dataclasses import replace

import pybase64
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.algorithms import EncryptionAlg, SigningAlg, TransferEncoding
from as2bus.as2.mime import (
    Base64Lines,
    MimeError,
    base64_decoded,
    canonical,
    decode_transfer,
    encode_base64,
    multipart,
    split_multipart,
)

#: Pieces that stress MIME: line ends of every kind, whitespace before them, boundary-like
#: lines, and arbitrary bytes around them.
_TRICKY = st.sampled_from(
    [b"\r\n", b"\n", b"\r", b" \r\n", b"\t\n", b"--", b"--boundary\r\n", b"\r\n--x--\r\n",
     b"\r\n\r\n", b"=\r\n", b"\x00", b"\xff\xfe"]
)  # fmt: skip
DOCUMENTS = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.one_of(_TRICKY, st.binary(max_size=40)), max_size=60).map(b"".join),
)
SHAPES = st.sampled_from(
    [
        (SigningAlg.SHA256, EncryptionAlg.AES256),
        (SigningAlg.SHA1, None),
        (None, EncryptionAlg.AES128),
        (None, None),
    ]
)
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@EXAMPLES
@given(
    document=DOCUMENTS,
    shape=SHAPES,
    encoding=st.sampled_from(list(TransferEncoding)),
)
@example(document=b"", shape=(SigningAlg.SHA256, EncryptionAlg.AES256), encoding="binary")
@example(document=b"", shape=(None, None), encoding="base64")
@example(document=b"\r\r\n\n \n", shape=(SigningAlg.SHA256, None), encoding="base64")
def test_any_document_arrives_byte_for_byte_with_the_expected_mic(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    document: bytes,
    shape: tuple[SigningAlg | None, EncryptionAlg | None],
    encoding: TransferEncoding,
) -> None:
    signing, encryption = shape
    if signing is None and encryption is None and (not document or document.isspace()):
        # Unsigned and unencrypted, the body is the document, and a body of nothing but
        # whitespace is refused as empty.
        document = b"ISA" + document
    receiver = replace(
        bob_as_seen_by_alice,
        signing=signing,
        encryption=encryption,
        encoding=TransferEncoding(encoding),
    )
    sent = as2.build_message(document, sender=alice, receiver=receiver, filename="doc.bin")
    sender_seen = replace(
        alice_as_seen_by_bob, require_signed=signing is not None, require_encrypted=False
    )
    got = as2.parse_message(sent.headers, sent.body, lookup=lambda _f, _t: (bob, sender_seen))
    assert got.payload == document
    assert (got.signed, got.encrypted) == (signing is not None, encryption is not None)
    if signing is not None:
        assert got.mic == sent.mic  # what the MDN will return is what the sender expects
        assert got.mic_alg == signing


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_base64_in_pieces_is_base64_in_one_go(data: bytes, cuts: list[int]) -> None:
    encoder, out, start = Base64Lines(), [], 0
    for cut in sorted(cuts):
        out.append(encoder.update(data[start:cut]))
        start = max(start, cut)
    out.append(encoder.update(data[start:]))
    out.append(encoder.finish())
    assert b"".join(out) == encode_base64(data)
    assert Base64Lines.length(len(data)) == len(encode_base64(data))


#: Base64 text as partners send it, and as they should not: line breaks anywhere, stray and
#: early padding, bytes outside the alphabet.
BASE64_TEXT = st.one_of(
    st.binary(max_size=600).map(encode_base64),
    st.lists(
        st.one_of(
            st.sampled_from([b"\r\n", b"\n", b" ", b"=", b"==", b"===", b"\x00", b"\xff", b"-_"]),
            st.binary(max_size=30).map(pybase64.b64encode),
            st.text(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", max_size=7
            ).map(str.encode),
        ),
        max_size=40,
    ).map(b"".join),
)


def _a2b_or_error(text: bytes) -> bytes | None:
    try:
        return binascii.a2b_base64(text)
    except binascii.Error:
        return None


@settings(max_examples=400, deadline=None)
@given(text=BASE64_TEXT, cuts=st.lists(st.integers(0, 1000), max_size=8))
def test_base64_decoded_in_pieces_is_a2b_base64_in_one_go(text: bytes, cuts: list[int]) -> None:
    """The fast decoder (pybase64 on whole quanta) gives what the standard library gives over
    the whole text, however the text is cut, and fails where it fails."""
    edges = [0, *sorted(min(c, len(text)) for c in cuts), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(edges)]
    expected = _a2b_or_error(text)
    assert _or_none(lambda: b"".join(base64_decoded(pieces))) == expected
    assert _or_none(lambda: decode_transfer(text, "base64")) == expected


def _or_none(decode: Callable[[], bytes]) -> bytes | None:
    try:
        return decode()
    except MimeError:
        return None


@settings(max_examples=200, deadline=None)
@given(data=DOCUMENTS)
def test_canonical_line_ends_are_crlf_only_and_stable(data: bytes) -> None:
    """Every LF ends up in a CRLF (a bare CR is not a line end for S/MIME signers: kept)."""
    once = canonical(data)
    assert canonical(once) == once
    assert once.replace(b"\r\n", b"").count(b"\n") == 0
    assert once.replace(b"\r\n", b"\n") == data.replace(b"\r\n", b"\n")  # nothing else moves
    if b"\n" not in data.replace(b"\r\n", b""):
        assert once == data  # no bare LF: already canonical


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(DOCUMENTS, min_size=1, max_size=4))
def test_multipart_framing_gives_back_each_part_exactly(parts: list[bytes]) -> None:
    content_type, body = multipart("related", parts)
    boundary = content_type.split("boundary=", 1)[1].strip('"')
    assert split_multipart(body, boundary) == parts
