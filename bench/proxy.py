"""A round-robin TCP proxy: one AS2 URL in front of several inbound-svc replicas.

uvicorn (``as2bus.shared.entry``) binds its own port and cannot take an inherited socket, so
the replicas listen on ports of their own and this proxy, in a thread of the harness, spreads
the connections over them, as a Kubernetes Service would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


class RoundRobinProxy:
    def __init__(self, backends: list[int]) -> None:
        self._next = itertools.cycle(backends)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-proxy", daemon=True)
        self.port = 0

    def start(self) -> RoundRobinProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            backend_r, backend_w = await asyncio.open_connection("127.0.0.1", next(self._next))
        except OSError:  # a replica is down: the client sees a closed connection and retries
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, backend_w), _pipe(backend_r, client_w))

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
