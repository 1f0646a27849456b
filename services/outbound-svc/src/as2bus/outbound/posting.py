"""What is POSTed to a partner and what comes of it: the body (whole, or built while it is
sent) and the result. Shared by the sending use case, its port and the HTTP adapter."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import BinaryIO

import httpx

from as2bus.as2.streaming import StreamPlan
from as2bus.shared.partner_tls.identity import ClientIdentity as ClientIdentity  # shared


@dataclass(frozen=True)
class PostResult:
    response: httpx.Response | None  # None when no HTTP response (connection error, timeout)
    error: str | None  # a person-readable reason when not 2xx
    retryable: bool  # connection errors, timeouts, 5xx, 408/425/429
    auth_failed: bool = False  # recognised auth failure (after a refresh, if configured)
    #: Where the message was taken when the partner redirected it (307/308, when its TLS
    #: settings allow following): the final URL without user info or query.
    redirected_to: str | None = None
    #: The status of an answer whose head came but not the rest (the connection broke off):
    #: there is no response to keep, but the partner did answer.
    status_of_broken_answer: int | None = None

    @property
    def http_status(self) -> int | None:
        """The status the partner answered with; None when it did not answer over HTTP (no
        connection, TLS, a timeout, refused before sending)."""
        if self.response is not None:
            return self.response.status_code
        return self.status_of_broken_answer


class Upload:
    """A request body built while it is sent, from a document read chunk by chunk. httpx may
    iterate it more than once (a retry after a token refresh): each pass reads the document
    again and encrypts with a new key. The plan's headers carry its exact Content-Length."""

    def __init__(
        self,
        plan: StreamPlan,
        document: Callable[[], AsyncIterator[bytes]],
        *,
        keep_copy: bool = False,
        new_file: Callable[[], BinaryIO] | None = None,
    ) -> None:
        self._plan = plan
        self._document = document
        #: With ``keep_copy``, the latest pass's bytes (the message as sent), in a temporary
        #: file (from ``new_file``, perhaps used before) that ``close`` closes; it ends where
        #: the latest pass ended, once that pass has been sent whole.
        self.copy: BinaryIO | None = None
        if keep_copy:
            self.copy = (new_file or tempfile.TemporaryFile)()
        #: Passes over the body so far (a retry after a token refresh, a followed redirect).
        self.passes = 0
        self._whole = asyncio.Event()
        self._copy_end = 0  # where the latest pass's bytes end in the copy

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.passes += 1
        self._whole.clear()
        encoder = self._plan.encoder()
        self._copy_end = 0  # written over, not emptied: the file's pages are reused
        yield self._copied(encoder.head())
        async for chunk in self._document():
            for piece in encoder.pieces(chunk):
                yield self._copied(piece)
        yield self._copied(encoder.finish())
        self.copy_as_sent()  # cut where this pass ended, before anyone reads it
        # Asked for more: the HTTP client has written the last piece.
        self._whole.set()

    @property
    def whole_sent(self) -> bool:
        """Whether the latest pass has been sent to its end."""
        return self._whole.is_set()

    async def wait_until_sent(self) -> int:
        """Wait until a pass over the body has been sent to its end; which pass it was."""
        await self._whole.wait()
        return self.passes

    def copy_as_sent(self) -> BinaryIO | None:
        """The copy, cut where the latest pass's bytes end (all of them once it was sent
        whole; what went out, when the partner answered before the end)."""
        if self.copy is not None:
            self.copy.truncate(self._copy_end)
        return self.copy

    def _copied(self, piece: bytes) -> bytes:
        if self.copy is not None:
            # At its place rather than the file's position: the copy kept early may still be
            # read (each read seeks) while a second pass writes. Into the page cache: cheaper
            # than a thread hop.
            self.copy.seek(self._copy_end)
            self.copy.write(piece)
            self._copy_end += len(piece)
        return piece

    def close(self) -> None:
        if self.copy is not None:
            self.copy.close()


Body = bytes | Upload


def cut_short(result: PostResult, body: bytes | Upload) -> PostResult:
    """A 2xx to a streamed body not sent to its end (the partner answered early and closed
    the connection) is no delivery: the partner cannot have processed a message cut short,
    and its MDN could not be checked (the MIC is known at the body's end). Sent again."""
    if result.error is not None or not isinstance(body, Upload) or body.whole_sent:
        return result
    reason = "the partner answered before it had the whole message"
    return replace(result, error=reason, retryable=True)
