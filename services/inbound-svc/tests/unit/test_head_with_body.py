"""A response's head leaves with its body, in one write; an interim 100 Continue is not held.

uvicorn with our protocol class on a real socket, in the test's process; the client is a raw
socket, so what arrives, and when, is what the server wrote."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from as2bus.inbound.entrypoints.server import with_header_timeout

PAUSE = 0.4  # between the app's start of the response and its body


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % (len(body) + 3))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["path"] == "/slow":
        await asyncio.sleep(PAUSE)
    await send({"type": "http.response.body", "body": b"ok " + body})


@contextlib.asynccontextmanager
async def served() -> AsyncIterator[int]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, http=with_header_timeout(10)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def read_response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    return head + await reader.readexactly(length)


async def test_the_head_waits_for_the_body_and_both_arrive_together() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        # Without the hold, the status line and headers arrive at once, before the pause ends.
        with contextlib.suppress(TimeoutError):
            early = await asyncio.wait_for(reader.read(1), PAUSE / 2)
            raise AssertionError(f"the head left before the body: {early!r}")
        response = await asyncio.wait_for(read_response(reader), 5)
        assert response.startswith(b"HTTP/1.1 200 OK\r\n")
        assert response.endswith(b"\r\n\r\nok hello")
        # the same connection answers the next request as well, head and body
        writer.write(b"POST /quick HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        assert (await asyncio.wait_for(read_response(reader), 5)).endswith(b"\r\n\r\nok hi")
        writer.close()


async def test_an_interim_100_continue_is_not_held() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /quick HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        # The client sends its body only once told to: a held 100 would be a deadlock.
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 ")
        writer.write(b"body")
        response = await asyncio.wait_for(read_response(reader), 5)
        assert response.startswith(b"HTTP/1.1 200 OK\r\n")
        assert response.endswith(b"ok body")
        writer.close()


async def test_a_head_request_is_answered_with_its_head() -> None:
    async with served() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HEAD /quick HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        writer.close()
