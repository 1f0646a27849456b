"""Reading a message that lies in a file, a bounded chunk at a time (for ``spooled``): byte
ranges, BER/DER TLV headers, CRLF and quoted-printable conversion as streams (base64's is
``mime.base64_decoded``), and delimiter search.

Each read seeks first, so several readers may take turns on one file.
"""

from __future__ import annotations

import binascii
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from as2bus.as2 import mime
from as2bus.as2.model import As2Error

#: The most of a document held in memory at once (tests set it small to cross every edge).
CHUNK = 1 << 20
_MAX_DEPTH = 16  # BER nesting we follow; CMS needs about 6


class BerError(Exception):
    """Not BER we can walk: truncated, too deep, or a tag where another was due."""


@dataclass(frozen=True)
class Range:
    """Bytes ``start``..``end`` of ``file``."""

    file: BinaryIO
    start: int
    end: int

    @classmethod
    def whole(cls, file: BinaryIO, start: int = 0) -> Range:
        return cls(file, start, file.seek(0, 2))

    @property
    def size(self) -> int:
        return self.end - self.start

    def sub(self, start: int, end: int | None = None) -> Range:
        return Range(self.file, start, self.end if end is None else end)

    def read(self, at: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``at``, never past ``end``."""
        n = min(n, self.end - at)
        if n <= 0:
            return b""
        self.file.seek(at)
        return self.file.read(n)

    def chunks(self) -> Iterator[bytes]:
        at = self.start
        while at < self.end:
            chunk = self.read(at, CHUNK)
            if not chunk:
                raise BerError("the file ends early")
            at += len(chunk)
            yield chunk

    def is_blank(self) -> bool:
        return all(chunk.isspace() for chunk in self.chunks())

    def find_all(self, needle: bytes) -> Iterator[int]:
        """Every position of ``needle``, also across chunk edges (the last len-1 bytes of a
        chunk are searched again with the next; a match cannot lie in them alone)."""
        keep, tail, at = len(needle) - 1, b"", self.start
        for chunk in self.chunks():
            buf, base = tail + chunk, at - len(tail)
            hit = buf.find(needle)
            while hit >= 0:
                yield base + hit
                hit = buf.find(needle, hit + 1)
            at += len(chunk)
            tail = buf[-keep:] if keep else b""


@dataclass(frozen=True)
class Tlv:
    """A BER header: where it starts, its identifier octet, where the contents start, their
    length (None when indefinite: they end with an end-of-contents 00 00)."""

    start: int
    ident: int
    content: int
    length: int | None

    @property
    def constructed(self) -> bool:
        return bool(self.ident & 0x20)

    @property
    def is_eoc(self) -> bool:
        return self.ident == 0 and self.length == 0


def header(r: Range, at: int) -> Tlv:
    head = r.read(at, 10)  # identifier, then a length of at most 1 + 8 octets
    if len(head) < 2:
        raise BerError("truncated")
    if head[0] & 0x1F == 0x1F:
        raise BerError("a high tag number, which CMS does not use here")
    first, i = head[1], 2
    if first < 0x80:
        length: int | None = first
    elif first == 0x80:
        if not head[0] & 0x20:
            raise BerError("indefinite length on a primitive value")
        length = None
    else:
        n = first & 0x7F
        if n > 8 or len(head) < 2 + n:
            raise BerError("truncated or oversized length")
        length, i = int.from_bytes(head[2 : 2 + n], "big"), 2 + n
    if length is not None and at + i + length > r.end:
        raise BerError("truncated")
    return Tlv(at, head[0], at + i, length)


def expect(r: Range, at: int, *idents: int) -> Tlv:
    tlv = header(r, at)
    if tlv.ident not in idents:
        want = " or ".join(f"{i:#04x}" for i in idents)
        raise BerError(f"tag {tlv.ident:#04x} at {at - r.start} where {want} was due")
    return tlv


def end_of(r: Range, tlv: Tlv, depth: int = 0) -> int:
    """Where the element ends: from its length, or by walking an indefinite one."""
    if tlv.length is not None:
        return tlv.content + tlv.length
    if depth > _MAX_DEPTH:
        raise BerError("nested too deep")
    at = tlv.content
    while not (child := header(r, at)).is_eoc:
        at = end_of(r, child, depth + 1)
    return child.content


def element(r: Range, tlv: Tlv, limit: int = 1 << 20) -> bytes:
    """A small element's whole encoding (e.g. RecipientInfos), for asn1crypto."""
    end = end_of(r, tlv)
    if end - tlv.start > limit:
        raise BerError(f"an element of {end - tlv.start} bytes where a small one was due")
    return r.read(tlv.start, end - tlv.start)


def octets(r: Range, tlv: Tlv, depth: int = 0) -> Iterator[bytes]:
    """The contents of an OCTET STRING (or [0] IMPLICIT one) in chunks: primitive, or
    constructed from segments (BER, e.g. ``openssl cms -stream``), definite or indefinite."""
    if not tlv.constructed:
        assert tlv.length is not None  # header() allows no indefinite primitive
        yield from r.sub(tlv.content, tlv.content + tlv.length).chunks()
        return
    if depth > _MAX_DEPTH:
        raise BerError("nested too deep")
    end, at = (None if tlv.length is None else tlv.content + tlv.length), tlv.content
    while at != end:
        child = header(r, at)
        if end is None and child.is_eoc:
            return
        if child.ident not in (0x04, 0x24):
            raise BerError(f"tag {child.ident:#04x} inside an OCTET STRING")
        yield from octets(r, child, depth + 1)
        at = end_of(r, child)
        if end is not None and at > end:
            raise BerError("a segment overruns its OCTET STRING")


def canonical(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``mime.canonical`` over the concatenation: a CR at a chunk's end waits for the next."""
    held = b""
    for chunk in chunks:
        data = held + chunk
        held = b"\r" if data.endswith(b"\r") else b""
        yield mime.canonical(data[: len(data) - len(held)])
    yield held


def split_multipart(r: Range, boundary: str) -> Iterator[Range]:
    """``mime.split_multipart`` (strict) on a range, lazily: each part's range, the CRLF
    before a delimiter belonging to the delimiter; MimeError when it is truncated."""
    delimiter = b"--" + boundary.encode("ascii", "replace")
    hits = _delimiters(r, delimiter)
    at = next(hits, -1)
    if at < 0:
        raise mime.MimeError(f"the multipart body has no boundary {boundary!r}")
    while True:
        after = at + len(delimiter)
        if r.read(after, 2) == b"--":
            return
        line_end = next(r.sub(after).find_all(b"\n"), -1)
        nxt = next((hit for hit in hits if hit > line_end), -1) if line_end >= 0 else -1
        if nxt < 0:
            raise mime.MimeError("the multipart body is truncated (no closing boundary)")
        start = line_end + 1
        end = nxt - 1 if nxt > start else nxt  # drop the LF (or CRLF) before the delimiter
        if end > start and r.read(end - 1, 1) == b"\r":
            end -= 1
        yield r.sub(start, end)
        at = nxt


def _delimiters(r: Range, delimiter: bytes) -> Iterator[int]:
    """Where delimiter lines start, in order (as ``mime._delimiter_at`` finds them)."""
    candidates = r.find_all(b"\n" + delimiter)
    if r.read(r.start, len(delimiter)) == delimiter:
        candidates = itertools.chain([r.start - 1], candidates)
    for hit in candidates:
        tail = r.read(hit + 1 + len(delimiter), 2)
        if tail[:1] in (b"", b"\r", b"\n", b" ", b"\t") or tail == b"--":
            yield hit + 1


def qp_decoded(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``binascii.a2b_qp`` over the concatenation, a chunk at a time: cut after a line break
    (an escape or a soft line break never spans one), or, in a line longer than a chunk,
    before an ``=`` that could start an escape."""
    held = b""
    for chunk in chunks:
        data = held + chunk
        cut = data.rfind(b"\n") + 1
        if not cut and len(data) > CHUNK:
            cut = len(data)
            escape = data.rfind(b"=", max(cut - 2, 0))
            cut = escape if escape >= 0 else cut
        if cut:
            yield binascii.a2b_qp(data[:cut])
        held = data[cut:]
    if held:
        yield binascii.a2b_qp(held)


def der_tlv(tag: int, *parts: bytes) -> bytes:
    """A DER element (definite length) of the given parts' bytes."""
    body = b"".join(parts)
    size = len(body)
    if size < 0x80:
        return bytes((tag, size)) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + body


def entity_at(r: Range) -> tuple[mime.Entity, Range]:
    """The header fields at the start of ``r`` (as ``mime.parse_entity`` reads them: within
    its first HEADER_LIMIT bytes) and the range of the body after them."""
    head = r.read(r.start, mime.HEADER_LIMIT)
    entity = mime.parse_entity(head)
    return mime.Entity(entity.headers, b""), r.sub(r.start + len(head) - len(entity.body))


class TempFiles:
    """The temporary files made for one message: all closed but the one handed over."""

    def __init__(self, limit: int, new_file: Callable[[], BinaryIO]) -> None:
        self.limit = limit
        self._new_file = new_file
        # Intermediate layers (plaintext with headers, base64 with line breaks) are larger
        # than the document; past this much, the document cannot be within the limit.
        self.room = limit * 3 // 2 + (1 << 20)
        self.opened: list[BinaryIO] = []

    def new(self) -> BinaryIO:
        self.opened.append(self._new_file())
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
