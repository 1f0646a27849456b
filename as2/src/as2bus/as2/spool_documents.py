"""The documents at the heart of a message read from a file: one entity's body decoded into a
file of ours, or the parts of a multipart/related (RFC 6362 multiple attachments), each a
document, all under the payload limit."""

from __future__ import annotations

from as2bus.as2 import mime, receive
from as2bus.as2.mime import base64_decoded
from as2bus.as2.model import As2Error, ReceivedAttachment, SpooledPayload
from as2bus.as2.receive import Unwrapped
from as2bus.as2.spool_io import (
    Range,
    TempFiles,
    entity_at,
    qp_decoded,
    split_multipart,
)

#: Parts of a multipart/related: each becomes an object in memory.
PART_LIMIT = 1000
IDENTITY = ("", "binary", "7bit", "8bit")


def single_document(entity: mime.Entity, body: Range, files: TempFiles) -> SpooledPayload:
    """The document decoded, in a file of ours (never the caller's body)."""
    encoding = entity.transfer_encoding
    if encoding == "base64":
        body = files.write(base64_decoded(body.chunks()), files.limit)
    elif encoding == "quoted-printable":
        body = files.write(qp_decoded(body.chunks()), files.limit)
    elif encoding not in IDENTITY:
        raise mime.MimeError(f"unknown Content-Transfer-Encoding {encoding!r}")
    elif body.file not in files.opened:  # the HTTP body itself: copied, to hand it over
        body = files.write(body.chunks(), files.limit)
    if body.size > files.limit:
        raise files.too_large()
    return SpooledPayload(body.file, body.start, body.size)


def documents(
    got: Unwrapped, body: Range, files: TempFiles
) -> tuple[SpooledPayload, tuple[ReceivedAttachment, ...]]:
    """The documents of a multipart/related (RFC 6362): the first part's (``got.entity``
    becomes its entity, for its file name and type), then the others as attachments, all
    in one file of ours."""
    parts = _related_parts(got.entity, body)
    decoded = _decoded(parts, files)
    got.entity = parts[0][0]
    attachments = tuple(
        ReceivedAttachment(
            filename=receive.safe_filename(entity.filename),
            content_type=entity.content_type,
            payload_file=spooled,
        )
        for (entity, _), spooled in zip(parts[1:], decoded[1:], strict=True)
    )
    return decoded[0], attachments


def _related_parts(entity: mime.Entity, body: Range) -> list[tuple[mime.Entity, Range]]:
    """Each part's header fields and the range of its (still encoded) body."""
    boundary = entity.param("boundary")
    if not boundary:
        raise mime.MimeError("the multipart/related has no boundary")
    parts: list[tuple[mime.Entity, Range]] = []
    for part in split_multipart(body, boundary):
        if len(parts) == PART_LIMIT:
            raise As2Error(
                "unexpected-processing-error",
                f"the multipart/related holds more than {PART_LIMIT} documents",
            )
        head, content = entity_at(part)
        if head.content_type.startswith("multipart/"):
            raise As2Error(
                "unexpected-processing-error",
                f"a {head.content_type} inside the multipart/related is not supported: "
                "each of its parts is one document",
            )
        if head.transfer_encoding not in (*IDENTITY, "base64", "quoted-printable"):
            raise mime.MimeError(f"unknown Content-Transfer-Encoding {head.transfer_encoding!r}")
        parts.append((head, content))
    if not parts:
        raise mime.MimeError("the multipart/related has no parts")
    return parts


def _decoded(parts: list[tuple[mime.Entity, Range]], files: TempFiles) -> list[SpooledPayload]:
    """Each part's document: in place when none is encoded and they are in a file of ours
    (the plaintext), else decoded one after the other into a new file; at most the limit in
    all."""
    if all(e.transfer_encoding in IDENTITY and r.file in files.opened for e, r in parts):
        if sum(r.size for _, r in parts) > files.limit:
            raise files.too_large()
        return [SpooledPayload(r.file, r.start, r.size) for _, r in parts]
    out, at, decoded = files.new(), 0, []
    for entity, r in parts:
        encoding, start = entity.transfer_encoding, at
        if encoding == "base64":
            chunks = base64_decoded(r.chunks())
        elif encoding == "quoted-printable":
            chunks = qp_decoded(r.chunks())
        else:
            chunks = r.chunks()
        for chunk in chunks:
            at += len(chunk)
            if at > files.limit:
                raise files.too_large()
            out.write(chunk)
        decoded.append(SpooledPayload(out, start, at - start))
    return decoded
