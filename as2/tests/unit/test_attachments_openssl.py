"""Several documents in one message, checked against ``openssl cms``: openssl decrypts and
verifies what we build, and the multipart/related it hands back (split here by hand) holds each
document; a multipart/related we write by hand and openssl signs and encrypts is read by us,
part by part, with the MIC over the whole signed entity."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from collections.abc import Iterator

import pytest

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.algorithms import SigningAlg, TransferEncoding

from .conftest import EDI, ENVELOPED, OpensslPeer, as2_headers, receive, replace
from .spooled_helpers import TempFiles, spool, watch_temp_files
from .test_attachments import read_spooled
from .test_openssl_interop import _decrypt, _verify_detached


@pytest.fixture(autouse=True)
def temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    yield from watch_temp_files(monkeypatch)


DOCS = [
    (EDI, "po.x12", "application/edi-x12"),
    (os.urandom(700), "blob.bin", "application/octet-stream"),
    (b"<a>\n</a>\r\n", "inv.xml", "application/xml"),
]


def split_by_hand(entity: bytes) -> tuple[str, list[tuple[dict[str, str], bytes]]]:
    """(the entity's Content-Type, each part's header fields and body): the boundary's
    delimiter lines found with ``bytes.split``, not with our MIME code."""
    head, _, body = entity.partition(b"\r\n\r\n")
    content_type = re.sub(r"\r\n\s+", " ", head.decode()).split(": ", 1)[1]
    found = re.search(r'boundary="([^"]+)"', content_type)
    assert found is not None
    delimiter = b"\r\n--" + found.group(1).encode()
    pieces = (b"\r\n" + body).split(delimiter)
    assert (pieces[0], pieces[-1]) == (b"", b"--\r\n")
    parts = []
    for piece in pieces[1:-1]:
        assert piece.startswith(b"\r\n")
        fields, _, content = piece[2:].partition(b"\r\n\r\n")
        pairs = (line.split(": ", 1) for line in fields.decode().split("\r\n"))
        parts.append(({k.lower(): v for k, v in pairs}, content))
    return content_type, parts


@pytest.mark.parametrize("encoding", list(TransferEncoding))
def test_openssl_decrypts_and_verifies_our_message_and_each_part_is_a_document(
    peer: OpensslPeer,
    alice: LocalParty,
    bob_as_seen_by_alice: RemoteParty,
    encoding: TransferEncoding,
) -> None:
    receiver = replace(bob_as_seen_by_alice, encoding=encoding)
    extra = [as2.Attachment(*doc) for doc in DOCS[1:]]
    built = as2.build_message(
        EDI, sender=alice, receiver=receiver, filename="po.x12", attachments=extra
    )
    der = base64.b64decode(built.body) if encoding == TransferEncoding.BASE64 else built.body
    signed_entity = _decrypt(peer, der)
    assert built.headers["Content-Transfer-Encoding"] == encoding.value
    assert b"multipart/signed" in signed_entity.split(b"\r\n\r\n", 1)[0]
    related = _verify_detached(peer, signed_entity)  # openssl checks the signature
    digest = hashlib.sha256(related).digest()
    assert built.mic == base64.b64encode(digest).decode()  # the MIC is over all of it
    content_type, parts = split_by_hand(related)
    assert content_type.startswith("multipart/related;")
    assert 'type="application/edi-x12"' in content_type
    assert len(parts) == len(DOCS)
    for (fields, content), (payload, filename, kind) in zip(parts, DOCS, strict=True):
        assert fields["content-type"] == kind
        assert fields["content-disposition"] == f'attachment; filename="{filename}"'
        if encoding == TransferEncoding.BASE64:
            assert fields["content-transfer-encoding"] == "base64"
            assert base64.b64decode(content) == payload
        else:
            assert fields["content-transfer-encoding"] == "binary"
            assert content == payload


def hand_built_related() -> bytes:
    """Four parts as another product might write them: binary, base64, quoted-printable, and
    one without a file name; LF-only lines in the documents."""
    b64 = base64.encodebytes(DOCS[1][0]).replace(b"\n", b"\r\n")
    return (
        b'Content-Type: multipart/related; boundary="=_mixed 0052A4F3_=";\r\n'
        b'\ttype="application/edi-x12"\r\n\r\n'
        b"--=_mixed 0052A4F3_=\r\n"
        b"Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\n"
        b"Content-Disposition: attachment; filename=EDI.X12\r\n\r\n" + EDI + b"\r\n"
        b"--=_mixed 0052A4F3_=\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="C:\\docs\\blob.bin"\r\n\r\n' + b64 + b"\r\n"
        b"--=_mixed 0052A4F3_=\r\n"
        b"Content-Type: application/xml\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        b'Content-Disposition: attachment; filename="inv.xml"\r\n\r\n<a>=0A</a>=0D=0A\r\n'
        b"--=_mixed 0052A4F3_=\r\nContent-Type: text/plain\r\n\r\nnote\nend\r\n"
        b"--=_mixed 0052A4F3_=--\r\n"
    )


@pytest.mark.parametrize("signing", ["detached", "opaque"])
def test_a_multipart_related_openssl_signed_and_encrypted_is_read_part_by_part(
    peer: OpensslPeer,
    bob: LocalParty,
    alice_as_seen_by_bob: RemoteParty,
    signing: str,
) -> None:
    entity = hand_built_related()
    signed = (
        peer.sign(entity) if signing == "detached" else peer.sign(entity, "sha256", "-nodetach")
    )
    body = peer.encrypt(signed)
    headers = as2_headers(ENVELOPED)
    got = receive(bob, alice_as_seen_by_bob, headers, body)
    assert (got.signed, got.encrypted) == (True, True)
    assert (got.payload, got.filename, got.content_type) == (EDI, "EDI.X12", "application/edi-x12")
    assert [(a.payload, a.filename, a.content_type) for a in got.attachments] == [
        (DOCS[1][0], "blob.bin", "application/octet-stream"),
        (DOCS[2][0], "inv.xml", "application/xml"),
        (b"note\nend", None, "text/plain"),
    ]
    assert got.mic == base64.b64encode(hashlib.sha256(entity).digest()).decode()
    assert got.mic_alg == SigningAlg.SHA256
    from_file = spool(bob, alice_as_seen_by_bob, headers, io.BytesIO(body))
    assert from_file is not None
    assert read_spooled(from_file) == got
