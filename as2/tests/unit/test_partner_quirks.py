"""Partner quirks: canonical line endings before signing, the AS2-Version we send, and the
User-Agent of what we send."""

from __future__ import annotations

import itertools
from importlib import metadata
from typing import Unpack

import pytest

from as2bus import as2
from as2bus.as2 import Attachment, LocalParty, RemoteParty, mime
from as2bus.as2.algorithms import Compression, SigningAlg, TransferEncoding
from as2bus.as2.headers import USER_AGENT
from as2bus.as2.stages import Canonicalize, Encoder
from as2bus.as2.streaming import Streamer

from .conftest import EDI, OpensslPeer, StreamerOptions, openssl, replace
from .test_mdn import received
from .test_write_openssl import entity_of, signature_of

#: LF-only lines (what a text document from Unix looks like): no bare CR, which openssl's text
#: mode would keep as it is too.
LF_TEXT = b"Dear Bob,\nthe order follows.\n\n  indented line\nlast line\n" * 20
LEAF_HEAD = (
    b"Content-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
    b'Content-Disposition: attachment; filename="note.txt"\r\n'
    b"Content-ID: <document.note-1@alice>\r\n\r\n"
)


def crlf_splits(payload: bytes) -> list[bytes]:
    """``payload`` cut between the CR and the LF of every CRLF (and nowhere else)."""
    cuts = [i + 1 for i in range(len(payload) - 1) if payload[i : i + 2] == b"\r\n"]
    edges = [0, *cuts, len(payload)]
    return [payload[a:b] for a, b in itertools.pairwise(edges)]


def stream(
    sender: LocalParty,
    receiver: RemoteParty,
    first: list[bytes],
    second: list[bytes],
    **kw: Unpack[StreamerOptions],
) -> tuple[dict[str, str], bytes, str | None]:
    """Streamed: the first reading in ``first``'s pieces, the second in ``second``'s."""
    streamer = Streamer(sum(map(len, first)), sender=sender, receiver=receiver, **kw)
    for piece in first:
        streamer.digest(piece)
    plan = streamer.plan()
    encoder = plan.encoder()
    body = encoder.head() + b"".join(encoder.update(p) for p in second) + encoder.finish()
    assert len(body) == plan.length == int(plan.headers["Content-Length"])
    return plan.headers, body, plan.mic


def test_the_stage_turns_bare_lfs_into_crlf_across_chunk_edges_and_counts() -> None:
    stage = Canonicalize()
    pieces = [b"a\nb\r", b"\nc\r", b"d\r", b"", b"\n", b"\r"]
    encoder = Encoder([stage.start()])
    out = encoder.head() + b"".join(map(encoder.update, pieces)) + encoder.finish()
    assert out == mime.canonical(b"".join(pieces)) == b"a\r\nb\r\nc\rd\r\n\r"
    assert stage.size(6) == len(out)


@pytest.mark.parametrize("encoding", list(TransferEncoding))
@pytest.mark.parametrize("cut", ["whole", "between CR and LF", "bytewise"])
def test_a_canonicalized_document_arrives_as_mime_canonical_with_its_mic(
    alice: LocalParty,
    bob: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    alice_as_seen_by_bob: RemoteParty,
    encoding: TransferEncoding,
    cut: str,
) -> None:
    receiver = replace(bob_as_seen_by_alice, canonicalize_line_endings=True, encoding=encoding)
    canonical = mime.canonical(EDI)
    assert canonical != EDI  # EDI has LF-only lines (and a bare CR, which stays)
    pieces = {"whole": [EDI], "between CR and LF": crlf_splits(EDI)}.get(cut)
    pieces = pieces or [EDI[i : i + 1] for i in range(len(EDI))]
    # The second reading is cut differently from the first.
    headers, body, mic = stream(alice, receiver, pieces, [EDI], filename="po.x12")
    them = replace(alice_as_seen_by_bob, require_signed=True)
    got = as2.parse_message(headers, body, lookup=lambda _f, _t: (bob, them))
    assert got.payload == canonical
    assert got.signed
    assert got.mic == mic  # the MIC we expect is the one the partner computes
    built = as2.build_message(EDI, sender=alice, receiver=receiver, filename="po.x12")
    assert len(built.body) == len(body)  # build_message: the same path and length


def test_openssl_in_text_mode_verifies_only_what_was_canonicalized(
    peer: OpensslPeer, alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    def verify(receiver: RemoteParty, *mode: str, ok: bool = True) -> bytes:
        headers, body, mic = stream(alice, receiver, [LF_TEXT], [LF_TEXT], **options)
        content, signature = signature_of(entity_of(headers, body))
        args: list[object] = ["-verify", *mode, "-noverify", "-inform", "DER"]
        args += ["-in", peer.write("s.der", signature), "-content", peer.write("c.bin", content)]
        openssl("cms", *args, ok=ok)
        assert mic == as2.compute_mic(content, SigningAlg.SHA256)
        return content

    options: StreamerOptions = {
        "filename": "note.txt",
        "content_type": "text/plain",
        "message_id": "note-1@alice",
    }
    plain = replace(bob_as_seen_by_alice, encryption=None)
    canonicalized = replace(plain, canonicalize_line_endings=True)
    assert verify(canonicalized) == LEAF_HEAD + mime.canonical(LF_TEXT)  # text mode
    # Off (the default), the bytes go as sent: openssl's text mode turns every LF into CRLF
    # before digesting, so its digest is not the one signed and it refuses the signature;
    # the exact bytes (-binary) verify.
    verify(plain, ok=False)
    assert verify(plain, "-binary") == LEAF_HEAD + LF_TEXT


def test_canonicalizing_several_documents_is_refused(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    receiver = replace(bob_as_seen_by_alice, canonicalize_line_endings=True)
    more = [Attachment(b"second\n", "b.txt")]
    with pytest.raises(ValueError, match=r"canonicalize_line_endings .* one document"):
        as2.build_message(EDI, sender=alice, receiver=receiver, attachments=more)
    as2.build_message(EDI, sender=alice, receiver=bob_as_seen_by_alice, attachments=more)


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_the_as2_version_is_the_partners_and_mdns_keep_ours(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty, version: str
) -> None:
    receiver = replace(bob_as_seen_by_alice, as2_version=version)
    sent = as2.build_message(EDI, sender=alice, receiver=receiver)
    assert sent.headers["AS2-Version"] == version
    assert as2.build_mdn(received(), local=bob).headers["AS2-Version"] == "1.2"


def test_as2_1_0_with_compression_is_refused(
    alice: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    for compression in (Compression.BEFORE_SIGNING, Compression.AFTER_SIGNING):
        receiver = replace(bob_as_seen_by_alice, as2_version="1.0", compression=compression)
        with pytest.raises(ValueError, match=r"compression for BOB needs AS2 1\.1"):
            Streamer(10, sender=alice, receiver=receiver)
        as2.build_message(EDI, sender=alice, receiver=replace(receiver, as2_version="1.1"))
    Streamer(10, sender=alice, receiver=replace(bob_as_seen_by_alice, as2_version="1.0"))


def test_messages_and_mdns_carry_our_product_and_version(
    alice: LocalParty, bob: LocalParty, bob_as_seen_by_alice: RemoteParty
) -> None:
    assert f"as2bus/{metadata.version('as2bus-as2')}" == USER_AGENT
    sent = as2.build_message(EDI, sender=alice, receiver=bob_as_seen_by_alice)
    assert sent.headers["User-Agent"] == USER_AGENT
    plan = Streamer(0, sender=alice, receiver=bob_as_seen_by_alice).plan()
    assert plan.headers["User-Agent"] == USER_AGENT
    assert as2.build_mdn(received(), local=bob).headers["User-Agent"] == USER_AGENT
