"""The endpoint's body reading: a large body goes to a file whole, written a MiB at a time
(not one thread hop per piece the server hands over), a small one stays in memory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from starlette.requests import Request

from as2bus.inbound.entrypoints.http import BodyLimits, Refused, Spooling, read_body
from as2bus.shared.recycled_files import RecycledFiles

PIECE = 64 * 1024


def request_of(body: bytes) -> Request:
    pieces = [body[i : i + PIECE] for i in range(0, len(body), PIECE)] or [b""]
    messages = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/as2",
        "headers": [(b"content-type", b"application/pkcs7-mime"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    return Request(scope, receive)


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The thread hops taken (the name of each function sent to a thread)."""
    taken: list[str] = []
    to_thread = asyncio.to_thread

    def counted(func: Callable[..., Any], /, *args: Any) -> Awaitable[Any]:
        taken.append(getattr(func, "__name__", repr(func)))
        return to_thread(func, *args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    return taken


async def test_a_large_body_is_spooled_whole_a_mib_at_a_time(hops: list[str]) -> None:
    body = os.urandom(3 * (1 << 20) + 7)
    read = await read_body(request_of(body), Spooling(16 * 1024), BodyLimits(1 << 20, 5.0))
    assert not isinstance(read, bytes)
    with read:
        assert read.read() == body
    assert 3 <= len(hops) <= 5  # 49 pieces of 64 KiB: one hop each before
    assert set(hops) == {"writelines"}


async def test_a_small_body_stays_in_memory(hops: list[str]) -> None:
    body = os.urandom(10_000)
    read = await read_body(request_of(body), Spooling(16 * 1024), BodyLimits(1 << 20, 5.0))
    assert read == body
    assert hops == []


async def test_a_body_spooled_to_a_file_used_before_ends_where_the_body_ends() -> None:
    """The spool may be a file written over (``RecycledFiles``): the receiver reads it to its
    end, so it is cut there, and nothing of the longer body before it is read as this one's."""
    pool = RecycledFiles()
    earlier = pool.take()
    earlier.write(b"E" * (5 << 20))
    earlier.close()
    body = os.urandom(3 * (1 << 20) + 7)
    spooling = Spooling(16 * 1024, pool.take)
    read = await read_body(request_of(body), spooling, BodyLimits(1 << 20, 5.0))
    assert not isinstance(read, bytes)
    with read:
        assert pool.kept_files == 0  # the earlier file is the one lent
        assert read.read() == body
    assert pool.kept_bytes == len(body)
    pool.close()


def trickled(pieces: int, every: float, *, chunked: bool) -> Request:
    """A body of ``pieces`` bytes, one every ``every`` seconds."""

    async def receive() -> dict[str, Any]:
        nonlocal pieces
        await asyncio.sleep(every)
        pieces -= 1
        return {"type": "http.request", "body": b"x", "more_body": pieces > 0}

    length = [] if chunked else [(b"content-length", str(pieces).encode())]
    headers = [(b"content-type", b"application/pkcs7-mime"), *length]
    return Request({"type": "http", "method": "POST", "path": "/as2", "headers": headers}, receive)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_that_keeps_coming_too_slowly_meets_its_deadline(chunked: bool) -> None:
    """Never idle for ``idle_seconds``, yet not done within the deadline: 408."""
    limits = BodyLimits(1 << 20, 1.0, deadline_seconds=0.3, seconds_per_mib=0)
    with pytest.raises(Refused) as refused:
        await read_body(trickled(100, 0.05, chunked=chunked), Spooling(1 << 20), limits)
    assert (refused.value.status_code, refused.value.close) == (408, True)
    assert refused.value.reason.startswith("the request body was not complete within 0.3 s")
    assert refused.value.reason.endswith("it comes too slowly")


async def test_a_body_arriving_in_time_is_read_whole() -> None:
    """Each MiB adds ``seconds_per_mib``: a chunked body's deadline grows with what came."""
    limits = BodyLimits(1 << 20, 1.0, deadline_seconds=0.3, seconds_per_mib=1 << 20)
    assert await read_body(trickled(10, 0.05, chunked=True), Spooling(1 << 20), limits) == b"x" * 10
    assert limits.deadline(1 << 20) == 0.3 + (1 << 20)
