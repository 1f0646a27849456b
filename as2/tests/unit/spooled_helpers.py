"""Running ``parse_spooled`` next to ``parse_message`` on the same message, and watching the
temporary files it makes."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from as2bus import as2
from as2bus.as2 import LocalParty, RemoteParty, spooled

from .conftest import openssl

LIMIT = 64 * 1024 * 1024


class TempFiles:
    """Every temporary file ``spooled`` makes; the test closes the payload file it gets."""

    def __init__(self) -> None:
        self.made: list[BinaryIO] = []
        self.track_sizes = False  # keep a second descriptor, to see sizes after closing
        self.dups: list[int] = []

    def __call__(self) -> BinaryIO:
        file = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by spooled or the test
        self.made.append(file)
        if self.track_sizes:
            self.dups.append(os.dup(file.fileno()))
        return file

    def sizes(self) -> list[int]:
        return [os.fstat(fd).st_size for fd in self.dups]

    def open(self) -> list[BinaryIO]:
        return [f for f in self.made if not f.closed]


def watch_temp_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[TempFiles]:
    """For each test module's autouse fixture: the files made, all closed at the end."""
    files = TempFiles()
    monkeypatch.setattr(spooled, "temp_file", files)
    yield files
    for fd in files.dups:
        os.close(fd)
    assert files.open() == [], "parse_spooled left temporary files open"


def spool(
    me: LocalParty,
    them: RemoteParty,
    headers: dict[str, str],
    body: bytes | BinaryIO,
    max_payload_bytes: int = LIMIT,
) -> as2.ReceivedMessage | None:
    file = io.BytesIO(body) if isinstance(body, bytes) else body
    return as2.parse_spooled(
        headers, file, lookup=lambda _f, _t: (me, them), max_payload_bytes=max_payload_bytes
    )


def payload_of(got: as2.ReceivedMessage) -> bytes:
    """The document's bytes from the file range; the file is closed (the caller's duty)."""
    assert got.payload == b""
    assert got.payload_file is not None
    spooled_payload = got.payload_file
    with spooled_payload.file as file:
        file.seek(spooled_payload.offset)
        data = file.read(spooled_payload.size)
    assert len(data) == spooled_payload.size
    return data


def digest_of(got: as2.ReceivedMessage) -> str:
    """For large documents: the SHA-256 of the file range, read in chunks."""
    assert got.payload_file is not None
    spooled_payload, digest = got.payload_file, hashlib.sha256()
    with spooled_payload.file as file:
        file.seek(spooled_payload.offset)
        left = spooled_payload.size
        while left:
            chunk = file.read(min(left, 1 << 20))
            assert chunk
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def same_as_parse_message(
    me: LocalParty, them: RemoteParty, headers: dict[str, str], body: bytes, **kw: Any
) -> as2.ReceivedMessage:
    """parse_spooled's result equals parse_message's, payload included; returns the latter."""
    expected = as2.parse_message(headers, body, lookup=lambda _f, _t: (me, them), **kw)
    got = spool(me, them, headers, body, **kw)
    assert got is not None
    payload = payload_of(got)
    assert payload == expected.payload
    assert dataclasses.replace(got, payload=payload, payload_file=None) == expected
    return expected


def outcome(call: Any) -> str:
    """The As2Error modifier a call raises ("ok" when it does not)."""
    try:
        result = call()
    except as2.As2Error as err:
        return err.modifier
    if isinstance(result, as2.ReceivedMessage) and result.payload_file is not None:
        result.payload_file.file.close()
    return "ok"


def same_failure(
    me: LocalParty, them: RemoteParty, headers: dict[str, str], body: bytes, **kw: Any
) -> str:
    """Both parsers refuse the message with the same modifier; returns it."""
    ref = outcome(lambda: as2.parse_message(headers, body, lookup=lambda _f, _t: (me, them), **kw))
    assert ref != "ok"
    assert outcome(lambda: spool(me, them, headers, body, **kw)) == ref
    return ref


def stream_encrypt(tmp: Path, content: bytes, cipher: str = "aes256", *extra: str) -> bytes:
    """``openssl cms -encrypt -stream``: BER, indefinite lengths, content in segments."""
    (tmp / "stream-in.bin").write_bytes(content)
    return openssl(
        "cms", "-encrypt", "-in", tmp / "stream-in.bin", f"-{cipher}", "-binary", "-stream",
        "-outform", "DER", "-recip", tmp / "bob.pem", *extra,
    )  # fmt: skip
