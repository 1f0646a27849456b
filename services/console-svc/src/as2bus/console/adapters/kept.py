"""What the detail page reads of the AS2 messages and MDNs kept in the object store."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Protocol, cast

from nats.js.errors import NotFoundError

from as2bus.contracts import DocumentRef


class Chunks(Protocol):
    """The part of DocumentStore read here (a fake one in the tests)."""

    def chunks(self, ref: DocumentRef) -> AsyncIterator[bytes]: ...


async def http_head(store: Chunks, ref: DocumentRef) -> str | None:
    """The header lines of a kept HTTP message (an MDN as received), one a line, or None when
    the object is gone (its retention is over). Reads the first chunk only: the headers are a
    few hundred bytes at the start, the body may be large."""
    # DocumentStore.chunks is an async generator: closing it now stops its reads (and its size
    # check at the end, which a partial read would fail).
    chunks = cast(AsyncGenerator[bytes, None], store.chunks(ref))
    try:
        async with aclosing(chunks):
            first = await anext(chunks, b"")
    except NotFoundError:  # the object, or one of its chunks, was deleted
        return None
    # A head longer than a chunk (128 KiB) is shown cut rather than not at all.
    head = first.split(b"\r\n\r\n", 1)[0]
    return head.decode("latin-1").replace("\r\n", "\n")
