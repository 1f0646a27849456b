"""Documents live in the JetStream object store (bucket ``as2_documents``); events carry only a
``DocumentRef``. Used by inbound (received documents), outbound (documents to send) and the
``as2bus inbox`` command. The bucket itself (``documents_bucket``), storing a document and
reading one back are the contracts' (``as2bus.contracts.documents``): other systems need them
without this."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO

from nats.js import JetStreamContext
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import ObjectStore

from as2bus.contracts import DocumentRef
from as2bus.contracts.documents import (
    CHUNK_BYTES,
    document_chunks,
    put_document,
    put_object,
    read_document,
)

log = logging.getLogger(__name__)


def _file_chunks(file: BinaryIO, offset: int, size: int, head: bytes = b"") -> Iterator[bytes]:
    """``head``, then ``size`` bytes of ``file`` from ``offset``, in chunks of ``CHUNK_BYTES``.
    Each read seeks first: two stores may read one file at once (a signed message's document
    is a range of the request body kept as received). Read on the event loop: half a MiB from
    the page cache takes a fraction of a millisecond, less than a hand-off to a thread."""
    if head:
        yield head
    position, left = offset, size
    while left:
        file.seek(position)
        chunk = file.read(min(CHUNK_BYTES, left))
        if not chunk:
            raise ValueError(f"the file ended {left} bytes early")
        position, left = position + len(chunk), left - len(chunk)
        yield chunk


class DocumentStore:
    def __init__(self, store: ObjectStore, js: JetStreamContext) -> None:
        self._store = store
        self._js = js

    async def put(self, name: str, data: bytes) -> DocumentRef:
        return await put_document(self._store, name, data)

    async def put_file(self, name: str, file: BinaryIO, offset: int, size: int) -> DocumentRef:
        """Store ``size`` bytes of ``file`` from ``offset`` without reading them into memory."""
        return await put_object(self._js, self._store, name, _file_chunks(file, offset, size))

    def chunks(self, ref: DocumentRef) -> AsyncIterator[bytes]:
        """The document chunk by chunk, checked against the reference's size and sha256 at the
        end (``as2bus.contracts.documents.document_chunks``, what other systems read with)."""
        return document_chunks(self._store, ref)

    async def stored(self, name: str) -> tuple[int, str | None] | None:
        """The stored object's size and SHA-256 (lowercase hex; None when the writer recorded
        no digest), or None when there is no such object. Every NATS client records the
        digest as ``SHA-256=<base64url>`` in the object's info when it stores an object."""
        try:
            info = await self._store.get_info(name)
        except ObjectNotFoundError:
            return None
        return int(info.size or 0), _hex_digest(info.digest)

    async def keep_mdn(
        self, original_message_id: str, headers: list[tuple[str, str]], body: bytes
    ) -> DocumentRef | None:
        """A partner's MDN as received, headers and body byte for byte: the record that they
        signed for our document. None when it cannot be stored: that costs the record, never
        the MDN's outcome (the caller goes on)."""
        name = mdn_object_name(original_message_id)
        return await self.keep_http_message(name, headers, body, what="the MDN")

    async def keep_http_message(
        self, name: str, headers: list[tuple[str, str]], body: bytes | BinaryIO, *, what: str
    ) -> DocumentRef | None:
        """An AS2 message or MDN as sent or received (header lines, a blank line, the body byte
        for byte; a body in a file is streamed from its start, never read whole). None when it
        cannot be stored: that costs the record, never the exchange (the caller goes on)."""
        try:
            if isinstance(body, bytes):
                return await self.put(name, raw_http_message(headers, body))
            size = body.seek(0, 2)
            head = raw_http_message(headers, b"")
            return await put_object(self._js, self._store, name, _file_chunks(body, 0, size, head))
        except Exception as err:
            log.warning("could not keep %s (%s): %s", what, name, err)
            return None

    async def delete(self, name: str) -> bool:
        """Delete an object; False when there was none (deleted already, by us or its owner)."""
        try:
            await self._store.delete(name)
        except ObjectNotFoundError:
            return False
        return True

    async def size(self, name: str) -> int | None:
        """The stored object's size, or None when there is no such object."""
        try:
            info = await self._store.get_info(name)
        except ObjectNotFoundError:
            return None
        return int(info.size or 0)

    async def get(self, ref: DocumentRef) -> bytes:
        """The document's bytes, checked against the reference's size and sha256.

        Read with one stream-message request per chunk (``chunks``): nats-py's object-store
        reader creates a consumer for every read, which under load costs more than the read
        and can hit the server's consumer limits; and it grew the result with ``bytes +=``
        per chunk, which is quadratic (a 100 MB document took 31 s to read).
        """
        return await read_document(self._store, ref)


def _hex_digest(digest: str | None) -> str | None:
    if not digest or not digest.upper().startswith("SHA-256="):
        return None
    value = digest.split("=", 1)[1].rstrip("=")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
    except (binascii.Error, ValueError):
        return None


def raw_http_message(headers: list[tuple[str, str]], body: bytes) -> bytes:
    """An HTTP message's headers and body as one byte string (header lines, a blank line, the
    body): how an MDN is kept, byte for byte, as the record of what the partner signed."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


def sent_object_name(message_id: str) -> str:
    """Where our message is kept as sent (the latest attempt's: each attempt replaces it)."""
    return "sent/" + hashlib.sha256(message_id.encode()).hexdigest()


def mdn_object_name(original_message_id: str) -> str:
    """Where the MDN for one of our messages is kept (one per message: a later MDN for the same
    message, after a resend with the same Message-ID, replaces it)."""
    return "mdn/" + hashlib.sha256(original_message_id.encode()).hexdigest()
