"""Saving received documents into a folder: atomically, original name kept, never overwriting.

A document is written chunk by chunk to a hidden temporary file in the folder (``.<id>.part``),
flushed to disk, then linked under its final name (``link`` fails rather than replace an
existing file, so a name taken meanwhile moves on to ``name (1)``): no file ever appears
half-written under its final name, and memory holds one chunk, not the document. The event id
is then appended to ``.as2bus-inbox`` in the folder, so a redelivery after a crash between
saving and acknowledging does not save a second copy.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

SEEN_FILE = ".as2bus-inbox"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")


def safe_name(filename: str | None, fallback: str) -> str:
    """The partner's filename without any directory part or odd characters."""
    base = Path((filename or "").replace("\\", "/")).name.strip().lstrip(".")
    base = _UNSAFE.sub("_", base)[:200]
    return base or fallback


def seen(directory: Path) -> set[str]:
    path = directory / SEEN_FILE
    return set(path.read_text().split()) if path.exists() else set()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _part_file(directory: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """A temporary file in ``directory``, removed afterwards whatever happens (once linked
    under its final name, removing it leaves that name in place)."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{uuid.uuid4().hex}.part"
    try:
        with temporary.open("wb") as handle:
            yield temporary, handle
    finally:
        temporary.unlink(missing_ok=True)


def _finish(directory: Path, temporary: Path, handle: BinaryIO, name: str, event_id: str) -> Path:
    handle.flush()
    os.fsync(handle.fileno())
    stem, suffix = os.path.splitext(name)
    for n in range(10_000):
        target = directory / (name if n == 0 else f"{stem} ({n}){suffix}")
        try:
            os.link(temporary, target)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free name for {name} in {directory}")
    with (directory / SEEN_FILE).open("a") as log:
        log.write(event_id + "\n")
        log.flush()
        os.fsync(log.fileno())
    _fsync_dir(directory)
    return target


def save(directory: Path, name: str, data: bytes, event_id: str) -> Path:
    with _part_file(directory) as (temporary, handle):
        handle.write(data)
        return _finish(directory, temporary, handle, name, event_id)


async def save_chunks(
    directory: Path, name: str, chunks: AsyncIterable[bytes], event_id: str
) -> tuple[Path, int]:
    """Like `save`, from chunks as they arrive; returns the path and the size written. If the
    chunks fail (the document does not match its checksum, NATS goes away), nothing is kept."""
    size = 0
    with _part_file(directory) as (temporary, handle):
        async for chunk in chunks:
            handle.write(chunk)
            size += len(chunk)
        return _finish(directory, temporary, handle, name, event_id), size
