"""Parsing a large AS2 message from a file in bounded memory: the same answers as
``receive.parse_message``, but the body, the plaintext and the document stay on disk.

Handled: EnvelopedData and CompressedData (DER or BER, binary or base64) and multipart/signed,
each at most once, in any order. Anything else (opaque signing, quoted-printable) returns None,
and the caller parses the body in memory with ``parse_message``: the chunk helpers are in
``spool_io``, the inflating in ``spool_zlib``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, cast

from asn1crypto import cms

from as2bus.as2 import decrypt, mime, receive, spool_io, spool_zlib, verify
from as2bus.as2.algorithms import SigningAlg
from as2bus.as2.headers import lower_keys
from as2bus.as2.mic import mic_of
from as2bus.as2.model import (
    As2Error,
    KeyPair,
    PartyLookup,
    ReceivedMessage,
    RemoteParty,
    SpooledPayload,
)
from as2bus.as2.receive import PKCS7_MIME, PKCS7_SIGNATURE, Unwrapped, once
from as2bus.as2.spool_io import (
    BerError,
    Range,
    base64_decoded,
    canonical,
    element,
    expect,
    split_multipart,
)


def _temporary() -> BinaryIO:
    # closed by _Files.close, or by the caller that receives it as the payload file
    return cast(BinaryIO, tempfile.TemporaryFile())


#: Makes every temporary file (tests replace it to see that each one is closed).
temp_file: Callable[[], BinaryIO] = _temporary
SIGNATURE_LIMIT = 4 << 20  # a detached signature part is read into memory
_IDENTITY = ("", "binary", "7bit", "8bit")


class _Unhandled(Exception):
    """A shape this path leaves to ``parse_message``."""


class _Files:
    """The temporary files made for one message: all closed but the one handed over."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # Intermediate layers (plaintext with headers, base64 with line breaks) are larger
        # than the document; past this much, the document cannot be within the limit.
        self.room = limit * 3 // 2 + (1 << 20)
        self.opened: list[BinaryIO] = []

    def new(self) -> BinaryIO:
        self.opened.append(temp_file())
        return self.opened[-1]

    def write(self, chunks: Iterator[bytes], room: int | None = None) -> Range:
        """The chunks in a new file, stopping as soon as they exceed ``room``."""
        room = self.room if room is None else room
        out, size = self.new(), 0
        for chunk in chunks:
            size += len(chunk)
            if size > room:
                raise self.too_large()
            out.write(chunk)
        return Range(out, 0, size)

    def too_large(self) -> As2Error:
        return As2Error("unexpected-processing-error", f"the document exceeds {self.limit} bytes")

    def close(self, keep: BinaryIO | None = None) -> None:
        for file in self.opened:
            if file is not keep:
                file.close()


def parse_spooled(
    headers: Mapping[str, str],
    body: BinaryIO,
    *,
    lookup: PartyLookup,
    max_payload_bytes: int,
) -> ReceivedMessage | None:
    """``parse_message`` for a body in a seekable file (read from its current position).

    The document is ``payload_file``: the caller closes ``payload_file.file``; ``body`` stays
    the caller's. None: a shape this path does not stream; ``body`` is then back at its
    position, for ``parse_message(headers, body.read())``."""
    message_id, local, remote = receive.addressed(headers, lookup)
    h = lower_keys(headers)
    names = ("content-type", "content-transfer-encoding", "content-disposition")
    outer = mime.Entity(mime.headers_of([(k, h[k]) for k in names if k in h]), b"")
    start = body.tell()
    files = _Files(max_payload_bytes)
    keep = None
    try:
        whole = Range.whole(body, start)
        if whole.is_blank():
            raise As2Error("unexpected-processing-error", "the message body is empty")
        receive.require_encryption(outer.content_type, remote)
        if outer.content_type.startswith("multipart/") and outer.transfer_encoding == "base64":
            raise _Unhandled  # http_entity's repair of an encoded multipart
        plain = Unwrapped(outer, unsigned_content=whole.chunks)
        got, document = _unwrap(plain, whole, files, local.decryption, remote)
        receive.unsigned_mic(got, headers)  # before the files it may read are closed
        payload = _payload(got.entity, document, files)
        keep = payload.file
    except _Unhandled:
        body.seek(start)
        return None
    except As2Error:
        raise
    except Exception as err:
        raise receive.unreadable(err) from None
    finally:
        files.close(keep)
    parties = (local, remote)
    message = receive.received(message_id, parties, got, b"", headers, max_payload_bytes)
    return dataclasses.replace(message, payload_file=payload)


def _unwrap(
    got: Unwrapped, body: Range, files: _Files, keys: list[KeyPair], remote: RemoteParty
) -> tuple[Unwrapped, Range]:
    """As ``receive._unwrap``, on ranges of files: (innermost entity, its body)."""
    while True:
        kind = got.entity.content_type
        if kind in PKCS7_MIME:
            if not _streamable(got.entity):
                raise _Unhandled  # decided before any work
            der = _der(got.entity, body, files)
            name = _content_type(der)
            if name == "signed_data":
                raise _Unhandled
            if name == "compressed_data":
                once(got, "compressed")
                content = _inflate(der, files)
            elif name in ("enveloped_data", "authenticated_enveloped_data"):
                once(got, "encrypted")
                if name == "authenticated_enveloped_data":
                    raise decrypt.refuse_authenticated()
                content = _decrypt(der, keys, files)
                if got.mic is None:
                    got.unsigned_content = content.chunks
            else:
                raise As2Error("unexpected-processing-error", f"unexpected CMS content {name}")
        elif kind == "multipart/signed":
            once(got, "signed")
            first, second = _split_signed(body, got.entity.param("boundary") or "")
            if not _streamable(_entity(first)[0]):
                raise _Unhandled  # opaque signing inside: not worth hashing first
            if second.size > SIGNATURE_LIMIT:
                raise mime.MimeError(f"the signature part exceeds {SIGNATURE_LIMIT} bytes")
            signature = mime.parse_entity(second.read(second.start, second.size))
            if signature.content_type not in PKCS7_SIGNATURE:
                raise mime.MimeError(f"the signature part is {signature.content_type}")
            content = _verified(got, first, signature.decoded(), remote, files)
        else:
            receive.check_leaf(kind, got.layers, remote)
            return got, body
        got.entity, body = _entity(content)


def _streamable(entity: mime.Entity) -> bool:
    """False for what says it is signed-data (opaque signing) or an unknown smime-type."""
    if entity.content_type not in PKCS7_MIME:
        return True
    kind = (entity.param("smime-type") or "enveloped-data").lower()
    return kind in ("enveloped-data", "compressed-data")


def _entity(r: Range) -> tuple[mime.Entity, Range]:
    """The header fields at the start of ``r`` (as ``mime.parse_entity`` reads them: within
    its first HEADER_LIMIT bytes) and the range of the body after them."""
    head = r.read(r.start, mime.HEADER_LIMIT)
    entity = mime.parse_entity(head)
    return mime.Entity(entity.headers, b""), r.sub(r.start + len(head) - len(entity.body))


def _der(entity: mime.Entity, body: Range, files: _Files) -> Range:
    """The CMS DER, decoded as ``Entity.decoded`` then ``cms.load`` would (which tries
    base64 on what does not start like DER)."""
    encoding = entity.transfer_encoding
    if encoding == "base64":
        body = files.write(base64_decoded(body.chunks()))
    elif encoding not in _IDENTITY:
        raise _Unhandled  # quoted-printable (or unknown: parse_message names it)
    if body.read(body.start, 1) != b"\x30":
        body = files.write(base64_decoded(body.chunks()))
    return body


def _content_type(der: Range) -> str:
    try:
        oid = expect(der, expect(der, der.start, 0x30).content, 0x06)
        return str(cms.ContentType.load(element(der, oid)).native)
    except (BerError, ValueError, TypeError) as err:
        reason = f"the body is not readable CMS data ({err})"
    raise As2Error("unexpected-processing-error", reason)


def _decrypt(der: Range, keys: list[KeyPair], files: _Files) -> Range:
    out = files.new()
    return Range(out, 0, decrypt.decrypt_spooled(der, keys, out, files.room, files.too_large()))


def _inflate(der: Range, files: _Files) -> Range:
    """The CompressedData's content in a new file; at most the document limit, as
    ``cms.decompress`` allows (what it inflates includes the inner headers, too)."""
    octets = spool_io.octets(der, spool_zlib.compressed_content(der))
    out = files.new()
    return Range(out, 0, spool_zlib.inflate(octets, out, files.limit))


def _split_signed(body: Range, boundary: str) -> tuple[Range, Range]:
    parts = split_multipart(body, boundary)
    both = list(itertools.islice(parts, 2))
    count = len(both) + sum(1 for _ in parts)  # counted, not kept: there may be millions
    if count != 2:
        raise mime.MimeError(f"a multipart/signed has 2 parts, not {count}")
    return both[0], both[1]


def _verified(
    got: Unwrapped, content: Range, signature: bytes, remote: RemoteParty, files: _Files
) -> Range:
    """The signed content as it came or, if the signature covers its CRLF form instead
    (``receive.as_sent_then_canonical``), that form in a new file."""
    checked = verify.Signature(signature)

    def candidates() -> Iterator[tuple[Range, bytes]]:
        yield content, _digest(checked.alg, content.chunks())
        digest = hashlib.new(checked.alg.value)
        crlf = files.write(_hashing(digest, canonical(content.chunks())), 2 * files.room)
        if crlf.size != content.size:  # CRs were added: the CRLF form differs
            yield crlf, digest.digest()

    covered, digest = checked.covers(candidates(), remote.verify_certs)
    got.mic, got.mic_alg = mic_of(digest), checked.alg
    got.verified_by = checked.verified_by
    got.unsigned_content = None
    return covered


def _digest(alg: SigningAlg, chunks: Iterator[bytes]) -> bytes:
    digest = hashlib.new(alg.value)
    for chunk in chunks:
        digest.update(chunk)
    return digest.digest()


def _hashing(digest: hashlib._Hash, chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _payload(entity: mime.Entity, body: Range, files: _Files) -> SpooledPayload:
    """The document decoded, in a file of ours (never the caller's body)."""
    encoding = entity.transfer_encoding
    if encoding == "base64":
        body = files.write(base64_decoded(body.chunks()), files.limit)
    elif encoding == "quoted-printable":
        raise _Unhandled
    elif encoding not in _IDENTITY:
        raise mime.MimeError(f"unknown Content-Transfer-Encoding {encoding!r}")
    elif body.file not in files.opened:  # the HTTP body itself: copied, to hand it over
        body = files.write(body.chunks(), files.limit)
    if body.size > files.limit:
        raise files.too_large()
    return SpooledPayload(body.file, body.start, body.size)
