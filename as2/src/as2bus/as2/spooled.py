"""Parsing AS2 messages: unwrap encryption, compression and signatures in whatever order they
come, each at most once, and deliver the innermost entity's body byte for byte. The one parser:
``parse_spooled`` reads a body in a file in bounded memory (the body, the plaintext and the
document stay on disk); ``parse_message`` runs the same on a body in memory (``receive`` holds
what both need of the headers and the result).

EnvelopedData, AuthEnvelopedData (AES-GCM), CompressedData and opaque SignedData (DER or BER,
binary, base64 or quoted-printable) and multipart/signed: the chunk helpers are in ``spool_io``,
the inflating in ``spool_zlib``.

An innermost multipart/related holds several documents (RFC 6362 multiple attachments): the
first part is the message's document, the others its ``attachments``, all decoded into one
file (or left in place in the plaintext's when none is encoded), at most ``max_payload_bytes``
together.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import itertools
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, cast

from asn1crypto import cms

from as2bus.as2 import decrypt, mime, receive, spool_io, spool_zlib, verify
from as2bus.as2.algorithms import SigningAlg
from as2bus.as2.headers import lower_keys
from as2bus.as2.mic import mic_of
from as2bus.as2.mime import base64_decoded
from as2bus.as2.model import (
    As2Error,
    KeyPair,
    PartyLookup,
    ReceivedMessage,
    RemoteParty,
    SpooledPayload,
)
from as2bus.as2.receive import PKCS7_MIME, PKCS7_SIGNATURE, Unwrapped, once
from as2bus.as2.spool_documents import IDENTITY, documents, single_document
from as2bus.as2.spool_io import (
    BerError,
    Range,
    TempFiles,
    Tlv,
    canonical,
    der_tlv,
    element,
    end_of,
    entity_at,
    expect,
    header,
    qp_decoded,
    split_multipart,
)


def _temporary() -> BinaryIO:
    # closed by TempFiles.close, or by the caller that receives it as the payload file
    return cast(BinaryIO, tempfile.TemporaryFile())


#: Makes every temporary file (tests replace it to see that each one is closed).
temp_file: Callable[[], BinaryIO] = _temporary
SIGNATURE_LIMIT = 4 << 20  # a detached signature part (or a SignedData's rest) is held
#: The most documents in one multipart/related (each is an object in memory).


#: How much of a layer a message parsed in memory (``parse_message``) keeps in memory; the
#: rest goes to a temporary file. A small body may inflate to the payload limit (1 GiB by
#: default in inbound-svc): a compression bomb outside the signature, which anyone can
#: encrypt for us, held 1 GiB of memory until it was refused (found by the fuzzer).
MEMORY_FILE_BYTES = 8 << 20


def _memory_file() -> BinaryIO:
    # closed as the ones of temp_file are
    return cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=MEMORY_FILE_BYTES))


def parse_spooled(
    headers: Mapping[str, str],
    body: BinaryIO,
    *,
    lookup: PartyLookup,
    max_payload_bytes: int,
    new_file: Callable[[], BinaryIO] | None = None,
) -> ReceivedMessage:
    """The delivered document and what protected it, for a body in a seekable file (read from
    its current position to the file's end); As2Error with the MDN modifier if not.

    The document is ``payload_file``: the caller closes ``payload_file.file``; ``body`` stays
    the caller's. Those of a multipart/related after the first are ``attachments``, their
    ``payload_file`` ranges in the same file as the first's. ``new_file`` makes the temporary
    files (``temp_file`` by default); the parser reads only what it wrote to them, so a file
    written before (``as2bus.shared.recycled_files``) will do."""
    return _parse(headers, body, lookup, max_payload_bytes, new_file or temp_file)


def parse_message(
    headers: Mapping[str, str],
    body: bytes,
    *,
    lookup: PartyLookup,
    max_payload_bytes: int = 500 * 1024 * 1024,
) -> ReceivedMessage:
    """``parse_spooled`` on a body in memory, with files held in memory up to
    ``MEMORY_FILE_BYTES`` each (then on disk); the document in ``payload``."""
    message = _parse(headers, io.BytesIO(body), lookup, max_payload_bytes, _memory_file)
    kept = message.payload_file
    assert kept is not None
    spooled = [kept, *(a.payload_file for a in message.attachments if a.payload_file)]
    try:
        payload = _read(kept)
        attachments = tuple(
            dataclasses.replace(a, payload=_read(a.payload_file), payload_file=None)
            for a in message.attachments
            if a.payload_file is not None
        )
    finally:
        for file in {id(s.file): s.file for s in spooled}.values():
            file.close()
    return dataclasses.replace(message, payload=payload, payload_file=None, attachments=attachments)


def _read(spooled: SpooledPayload) -> bytes:
    spooled.file.seek(spooled.offset)
    return spooled.file.read(spooled.size)


def _parse(
    headers: Mapping[str, str],
    body: BinaryIO,
    lookup: PartyLookup,
    max_payload_bytes: int,
    new_file: Callable[[], BinaryIO],
) -> ReceivedMessage:
    message_id, local, remote = receive.addressed(headers, lookup)
    h = lower_keys(headers)
    names = ("content-type", "content-transfer-encoding", "content-disposition")
    fields = [(k, h[k]) for k in names if k in h]
    outer = mime.Entity(mime.headers_of(fields), b"")
    files = TempFiles(max_payload_bytes, new_file)
    keep = None
    try:
        whole = Range.whole(body, body.tell())
        if whole.is_blank():
            raise As2Error("unexpected-processing-error", "the message body is empty")
        receive.require_encryption(outer.content_type, remote)
        if outer.content_type.startswith("multipart/") and outer.transfer_encoding == "base64":
            # Not valid MIME (a multipart is never encoded), but some send it: decoded only
            # when the body does not already show its boundary.
            boundary = f"--{outer.param('boundary') or ''}".encode()
            if next(whole.find_all(boundary), None) is None:
                fields = [f for f in fields if f[0] != "content-transfer-encoding"]
                outer = mime.Entity(mime.headers_of(fields), b"")
                whole = files.write(base64_decoded(whole.chunks()))
        plain = Unwrapped(outer, unsigned_content=whole.chunks)
        got, document = _unwrap(plain, whole, files, local.decryption, remote)
        receive.unsigned_mic(got, headers)  # before the files it may read are closed
        if got.entity.content_type == receive.RELATED:
            payload, attachments = documents(got, document, files)
        else:
            payload, attachments = single_document(got.entity, document, files), ()
        keep = payload.file
    except As2Error:
        raise
    except Exception as err:
        raise receive.unreadable(err) from None
    finally:
        files.close(keep)
    parties = (local, remote)
    message = receive.received(message_id, parties, got, b"", headers, max_payload_bytes)
    return dataclasses.replace(message, payload_file=payload, attachments=attachments)


def _unwrap(
    got: Unwrapped, body: Range, files: TempFiles, keys: list[KeyPair], remote: RemoteParty
) -> tuple[Unwrapped, Range]:
    """(innermost entity, its body): each layer unwrapped into a file of its own."""
    while True:
        kind = got.entity.content_type
        if kind in PKCS7_MIME:
            der = _der(got.entity, body, files)
            name = _content_type(der)
            if name == "signed_data":  # opaque signing: the content is inside the CMS
                once(got, "signed")
                content = _opaque(got, der, remote, files)
            elif name == "compressed_data":
                once(got, "compressed")
                content = _inflate(der, files)
            elif name in ("enveloped_data", "authenticated_enveloped_data"):
                once(got, "encrypted")
                content = _decrypt(der, keys, files)
                if got.mic is None:
                    got.unsigned_content = content.chunks
            else:
                raise As2Error("unexpected-processing-error", f"unexpected CMS content {name}")
        elif kind == "multipart/signed":
            once(got, "signed")
            first, second = _split_signed(body, got.entity.param("boundary") or "")
            if second.size > SIGNATURE_LIMIT:
                raise mime.MimeError(f"the signature part exceeds {SIGNATURE_LIMIT} bytes")
            signature = mime.parse_entity(second.read(second.start, second.size))
            if signature.content_type not in PKCS7_SIGNATURE:
                raise mime.MimeError(f"the signature part is {signature.content_type}")
            content = _verified(got, first, signature.decoded(), remote, files)
        else:
            receive.check_leaf(kind, got.layers, remote)
            return got, body
        got.entity, body = entity_at(content)


def _der(entity: mime.Entity, body: Range, files: TempFiles) -> Range:
    """The CMS DER, decoded as ``Entity.decoded`` then ``cms.load`` would (which tries
    base64 on what does not start like DER)."""
    encoding = entity.transfer_encoding
    if encoding == "base64":
        body = files.write(base64_decoded(body.chunks()))
    elif encoding == "quoted-printable":
        body = files.write(qp_decoded(body.chunks()))
    elif encoding not in IDENTITY:
        raise mime.MimeError(f"unknown Content-Transfer-Encoding {encoding!r}")
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


def _decrypt(der: Range, keys: list[KeyPair], files: TempFiles) -> Range:
    out = files.new()
    return Range(out, 0, decrypt.decrypt_spooled(der, keys, out, files.room, files.too_large()))


def _inflate(der: Range, files: TempFiles) -> Range:
    """The CompressedData's content in a new file; at most the document limit (what it
    inflates includes the inner headers, too)."""
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
    got: Unwrapped, content: Range, signature: bytes, remote: RemoteParty, files: TempFiles
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

    return _signed_by(got, checked, candidates(), remote)


def _signed_by(
    got: Unwrapped,
    checked: verify.Signature,
    candidates: Iterator[tuple[Range, bytes]],
    remote: RemoteParty,
) -> Range:
    covered, digest = checked.covers(candidates, remote.verify_certs)
    got.mic, got.mic_alg = mic_of(digest), checked.alg
    got.verified_by = checked.verified_by
    got.signed_at, got.signature_key = checked.signed_at, checked.key(digest)
    got.unsigned_content = None
    return covered


def _opaque(got: Unwrapped, der: Range, remote: RemoteParty, files: TempFiles) -> Range:
    """An opaque SignedData: its content hashed while it is copied into a file of its own,
    the signature checked on the rest, re-framed as a detached SignedData (held in memory:
    certificates and signer, at most SIGNATURE_LIMIT)."""
    detached, content = _split_signed_data(der)
    checked = verify.Signature(detached)
    digest = hashlib.new(checked.alg.value)
    copied = files.write(_hashing(digest, spool_io.octets(der, content)))
    return _signed_by(got, checked, iter([(copied, digest.digest())]), remote)


def _split_signed_data(der: Range) -> tuple[bytes, Tlv]:
    """(the SignedData ContentInfo without its eContent, the eContent's OCTET STRING)."""
    try:
        info = expect(der, der.start, 0x30)
        end_of(der, info)  # all of it is there (for BER: walks the headers, not the content)
        content_type = expect(der, info.content, 0x06)
        signed = expect(der, expect(der, end_of(der, content_type), 0xA0).content, 0x30)
        version = expect(der, signed.content, 0x02)
        digest_algorithms = expect(der, end_of(der, version), 0x31)
        encap = expect(der, end_of(der, digest_algorithms), 0x30)
        encap_type = expect(der, encap.content, 0x06)
        at, content = end_of(der, encap_type), None
        if at != end_of(der, encap) and not header(der, at).is_eoc:
            content = expect(der, expect(der, at, 0xA0).content, 0x04, 0x24)
        rest, at, end = [], end_of(der, encap), end_of(der, signed)
        while at < end and not (tlv := header(der, at)).is_eoc:  # certificates, crls, signers
            rest.append(element(der, tlv, SIGNATURE_LIMIT))
            at = end_of(der, tlv)
            if sum(map(len, rest)) > SIGNATURE_LIMIT:
                raise BerError(
                    f"the SignedData's certificates and signers exceed {SIGNATURE_LIMIT} bytes"
                )
        inner = [element(der, version), element(der, digest_algorithms)]
        signed_data = der_tlv(0x30, *inner, der_tlv(0x30, element(der, encap_type)), *rest)
        detached = der_tlv(0x30, element(der, content_type), der_tlv(0xA0, signed_data))
    except (BerError, ValueError, TypeError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable SignedData: {err}") from None
    if content is None:
        raise As2Error("unexpected-processing-error", "the SignedData carries no content")
    return detached, content


def _digest(alg: SigningAlg, chunks: Iterator[bytes]) -> bytes:
    digest = hashlib.new(alg.value)
    for chunk in chunks:
        digest.update(chunk)
    return digest.digest()


def _hashing(digest: hashlib._Hash, chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
