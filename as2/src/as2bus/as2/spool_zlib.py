"""CompressedData (RFC 3274, for AS2 RFC 5402) read from a file and inflated into another, a
bounded piece at a time, for ``spooled``: zlib or gzip framing, at most the document limit."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import BinaryIO

from asn1crypto import cms as asn1_cms

from as2bus.as2 import spool_io
from as2bus.as2.model import As2Error
from as2bus.as2.spool_io import BerError, Range, Tlv, element, end_of, expect, header


def compressed_content(der: Range) -> Tlv:
    """The header of the eContent OCTET STRING (primitive or BER segments, for
    ``spool_io.octets``) of the CompressedData ContentInfo in ``der``; only small parts load."""
    try:
        info = expect(der, der.start, 0x30)
        end_of(der, info)  # all of it is there (for BER: walks the headers, not the content)
        content_type = expect(der, info.content, 0x06)
        explicit = expect(der, end_of(der, content_type), 0xA0)
        compressed = expect(der, explicit.content, 0x30)
        algorithm = expect(der, end_of(der, expect(der, compressed.content, 0x02)), 0x30)
        name = asn1_cms.CompressionAlgorithm.load(element(der, algorithm))["algorithm"].native
        encap = expect(der, end_of(der, algorithm), 0x30)
        after_type = end_of(der, expect(der, encap.content, 0x06))
        # eContent is OPTIONAL: absent, the next thing is the end of encapContentInfo
        present = after_type != end_of(der, encap) and header(der, after_type).ident == 0xA0
    except (BerError, ValueError, TypeError, KeyError) as err:
        raise As2Error("unexpected-processing-error", f"unreadable CompressedData: {err}") from None
    if name != "zlib" or not present:
        # named by its algorithm even when it is the content that lacks
        raise As2Error("unexpected-processing-error", f"unsupported compression {name!r}")
    try:
        return expect(der, header(der, after_type).content, 0x04, 0x24)
    except BerError as err:
        raise As2Error("unexpected-processing-error", f"unreadable CompressedData: {err}") from None


def inflate(chunks: Iterator[bytes], out: BinaryIO, limit: int) -> int:
    """zlib (or gzip) data from ``chunks`` inflated into ``out``; its size. A zip bomb stops
    as soon as the output passes ``limit``, before writing past it; neither the input nor the
    output is ever held more than ``spool_io.CHUNK`` at a time (``max_length`` with
    ``unconsumed_tail``)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
    size = 0

    def take(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if size > limit:
            raise As2Error(
                "unexpected-processing-error",
                f"the decompressed content exceeds the limit of {limit} bytes",
            )
        out.write(piece)

    try:
        for chunk in chunks:
            data = chunk
            while data and not inflater.eof:
                take(inflater.decompress(data, max(spool_io.CHUNK, 1)))
                data = inflater.unconsumed_tail
            if inflater.eof:
                break  # what follows the stream is ignored, and not fed on: it would pile
                # up in unused_data
        # All input is in: what zlib still holds back is at most a few matches' worth.
        take(inflater.flush())
    except zlib.error as err:
        raise As2Error("unexpected-processing-error", f"corrupt compressed data: {err}") from None
    if not inflater.eof:
        raise As2Error("unexpected-processing-error", "the compressed data is truncated")
    return size
