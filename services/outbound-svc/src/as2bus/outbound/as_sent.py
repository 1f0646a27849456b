"""The copy of a message as sent, for the console's download: the AS2 headers we built (never
the credentials the HTTP client adds) and the body byte for byte, kept in the object store
for an attempt the partner took, and only for one.

A streamed body's copy is stored as soon as the body has gone out whole, while the partner is
still reading and answering it: kept after the answer, a 100 MB message waited about 0.4 s
more for its outcome. That early copy is dropped (stopped, or deleted once kept) when the
attempt comes to nothing, and made again when the body went out again after it (a token
refresh, a followed redirect).
"""

from __future__ import annotations

import asyncio

from as2bus import as2
from as2bus.as2.streaming import StreamPlan
from as2bus.contracts import DocumentRef
from as2bus.outbound.ports import Documents
from as2bus.outbound.posting import Upload
from as2bus.shared.bus.documents import sent_object_name


class AsSentCopy:
    """One attempt's copy: ``start`` when the body is about to be sent, then ``taken`` once
    the partner took it, or ``drop`` when it did not."""

    def __init__(
        self,
        documents: Documents,
        message_id: str,
        built: as2.OutgoingMessage | StreamPlan,
        body: bytes | Upload,
        *,
        keep: bool,
    ) -> None:
        self._documents = documents
        self._message_id = message_id
        self._built = built
        self._body = body
        self._keep = keep
        self._early: asyncio.Task[tuple[int, DocumentRef | None]] | None = None

    def start(self) -> None:
        """Store a streamed body's copy as soon as it has gone out whole."""
        body = self._body
        if not (self._keep and isinstance(body, Upload) and body.copy):
            return

        async def keep() -> tuple[int, DocumentRef | None]:
            sent = await body.wait_until_sent()
            return sent, await self._store()

        self._early = asyncio.ensure_future(keep())

    async def taken(self) -> DocumentRef | None:
        """The copy of an attempt the partner took (None when not kept): the one stored
        early, unless the body went out again after it."""
        body = self._body
        if self._early is None or not isinstance(body, Upload):
            return await self._store()
        sent, raw = await self._early  # the body went out whole: see posting.cut_short
        self._early = None
        return raw if sent == body.passes else await self._store()

    async def drop(self) -> None:
        """An attempt that came to nothing: its early copy stopped, or deleted if stored."""
        early, self._early = self._early, None
        if early is None:
            return
        early.cancel()
        await asyncio.wait([early])
        if early.cancelled() or early.exception() is not None:
            return
        _, kept = early.result()
        if kept is not None:
            await self._documents.delete(kept.name)

    async def _store(self) -> DocumentRef | None:
        if not self._keep:
            return None
        body = self._body
        content = body if isinstance(body, bytes) else body.copy_as_sent()
        if content is None:
            return None
        name = sent_object_name(self._message_id)
        headers = list(self._built.headers.items())
        return await self._documents.keep_http_message(name, headers, content, what="as sent")
