"""A minimal HTTP/1.1 server on loopback for HTTP client tests: it answers every request
``200 ok``, keeps connections open unless told otherwise, and records per connection how many
requests came on it and whether the client closed it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class Connection:
    requests: int = 0
    closed: bool = False  # by the client (the server's own close after an answer is not)


@dataclass
class LocalHttp:
    url: str = ""
    connections: list[Connection] = field(default_factory=list)
    #: Set: answer at once; cleared, requests wait for it (to have several in flight).
    release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.connections)


@contextlib.asynccontextmanager
async def local_http(
    *, path: str = "/as2", close_after_answer: bool = False
) -> AsyncIterator[LocalHttp]:
    """``close_after_answer``: close each connection after its first answer (without
    ``Connection: close``, so the client's pool keeps it and must notice)."""
    state = LocalHttp()
    state.release.set()
    writers: list[asyncio.StreamWriter] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection()
        state.connections.append(connection)
        writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                connection.requests += 1
                await state.release.wait()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            connection.closed = True
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}{path}"
    try:
        yield state
    finally:
        server.close()
        for writer in writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await server.wait_closed()
