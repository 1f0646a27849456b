"""Saving received documents into a folder: atomically, original name kept, never overwriting.

A document is written to a hidden temporary file, flushed to disk, then linked under its final
name (``link`` fails rather than replace an existing file, so a name taken meanwhile moves on
to ``name (1)``). The event id is then appended to ``.as2bus-inbox`` in the folder, so a
redelivery after a crash between saving and acknowledging does not save a second copy.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

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


def save(directory: Path, name: str, data: bytes, event_id: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{uuid.uuid4().hex}.part"
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    stem, suffix = os.path.splitext(name)
    try:
        for n in range(10_000):
            target = directory / (name if n == 0 else f"{stem} ({n}){suffix}")
            try:
                os.link(temporary, target)
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"no free name for {name} in {directory}")
    finally:
        temporary.unlink(missing_ok=True)
    with (directory / SEEN_FILE).open("a") as log:
        log.write(event_id + "\n")
        log.flush()
        os.fsync(log.fileno())
    _fsync_dir(directory)
    return target
