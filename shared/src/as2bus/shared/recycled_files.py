"""Temporary files used again instead of made anew, for the large messages that pass through them.

A large message goes through temporary files on its way: inbound-svc spools the body and writes
its plaintext, outbound-svc keeps the copy as sent. A new file takes every page of its page
cache afresh; a file written over keeps the pages it has. On a virtual machine that hands its
free memory back to the host (free page reporting, a balloon: Firecracker microVMs such as
Fargate's, Kata containers), each fresh page is a fault in the host: on our benchmark machine,
writing 100 MB to a new file took 0.7 s of system time, writing it over an old one 0.01 s.

A file taken from the pool may hold a previous user's bytes past what the new user wrote. Users
read only what they wrote (the codec reads by ranges), or cut the file where their writing ends
(``truncate()`` at that position) before anything reads it to its end. A file is kept for the
next user while the pool's bytes stay under its limit; the rest, and files given back empty
(``truncate(0)`` first frees what a file holds), are closed as usual. The files are unlinked
from the start, like ``tempfile.TemporaryFile``: only this process can reach them, and they
vanish with it.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from collections.abc import Callable
from typing import BinaryIO, cast

#: What a service keeps for the next message unless told otherwise (disk and page cache, which
#: the kernel may still reclaim): one 100 MB message's files on each side, with room. A base64
#: message of a 100 MB document takes inbound-svc four files, 559 MiB together (its body is
#: base64 twice over, inside and out: 188 MiB).
DEFAULT_KEPT_BYTES = 768 * 1024 * 1024
MAX_KEPT_FILES = 8


class RecycledFiles:
    """A pool of unlinked temporary files. ``take`` lends one (position 0); closing the lent
    file gives it back. Thread-safe: the codec writes its files in worker threads."""

    def __init__(self, max_bytes: int = DEFAULT_KEPT_BYTES, max_files: int = MAX_KEPT_FILES):
        self._max_bytes = max_bytes
        self._max_files = max_files
        self._lock = threading.Lock()
        self._kept: list[tuple[io.FileIO, int]] = []  # each file and its size when given back

    @property
    def kept_bytes(self) -> int:
        with self._lock:
            return sum(size for _, size in self._kept)

    @property
    def kept_files(self) -> int:
        with self._lock:
            return len(self._kept)

    def take(self) -> BinaryIO:
        """A temporary file to write from its start: the largest kept one when there is one.
        A message's first file is its largest (inbound-svc's spooled body; then the DER, the
        plaintext, the document, each no larger), so largest first lends each of them the
        file with the most pages to write over; the last kept before (a smaller one) left a
        base64 message's body writing about 90 MB of fresh pages (benchmarks finding 26)."""
        with self._lock:
            origin = None
            if self._kept:
                largest = max(range(len(self._kept)), key=lambda i: self._kept[i][1])
                origin = self._kept.pop(largest)[0]
        if origin is None:
            origin = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 (lent)
        # The file lent is a second descriptor of the kept one: closing it returns the kept one.
        lent = _Lent(io.FileIO(os.dup(origin.fileno()), "r+b"), lambda: self._give_back(origin))
        lent.seek(0)
        return cast(BinaryIO, lent)

    def _give_back(self, origin: io.FileIO) -> None:
        try:
            size = os.fstat(origin.fileno()).st_size
        except OSError:
            origin.close()
            return
        with self._lock:
            fits = sum(s for _, s in self._kept) + size <= self._max_bytes
            # An empty file has no pages to lend: emptied by its user (a body abandoned
            # half-way is freed, not kept), or never written.
            if size and fits and len(self._kept) < self._max_files:
                self._kept.append((origin, size))
                return
        origin.close()

    def close(self) -> None:
        """Close every kept file (a service stopping; files lent stay their users')."""
        with self._lock:
            kept, self._kept = self._kept, []
        for origin, _ in kept:
            origin.close()


class _Lent(io.BufferedRandom):
    """A buffered file that returns its kept file to the pool when closed (explicitly, or when
    it is collected)."""

    def __init__(self, raw: io.FileIO, give_back: Callable[[], None]) -> None:
        super().__init__(raw)
        self._give_back: Callable[[], None] | None = give_back

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()
        finally:
            give_back, self._give_back = self._give_back, None
            if give_back is not None:
                give_back()
