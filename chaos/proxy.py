"""Network faults for ``make chaos``, each in a thread of the harness with its own event loop:

- ``PausableProxy``: a TCP proxy between outbound-svc and the partner that can *pause*: no byte
  moves in either direction (connections stay open, new ones are accepted and wait) until it
  resumes, as a stalled network or a hung middlebox;
- ``MdnSink``: an HTTP endpoint that answers every request 200 and keeps nothing, so a
  partner's async MDN sent to it is accepted and never reaches us.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class _LoopThread:
    """An asyncio server on 127.0.0.1 (a free port) in a daemon thread."""

    name = "chaos-net"

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def start(self) -> Any:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{self.name} did not start")
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
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    def call(self, fn: Callable[[], None]) -> None:
        self._loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        """Cancel what is under way (its connections closed), then end the loop."""

        async def wind_down() -> None:
            mine = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not mine]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.05)  # the closed transports' callbacks
            self._loop.stop()

        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(wind_down()))
        self._thread.join(10)


class PausableProxy(_LoopThread):
    name = "chaos-proxy"

    def __init__(self, backend_port: int) -> None:
        super().__init__()
        self.backend_port = backend_port
        self.connections = 0
        self.bytes_forwarded = 0
        self.flowing = asyncio.Event()  # bound to the proxy's loop on its first wait
        self.flowing.set()

    def pause(self) -> None:
        self.call(self.flowing.clear)

    def resume(self) -> None:
        self.call(self.flowing.set)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        backend_w = None
        try:
            await self.flowing.wait()  # a connection opened during a pause waits with the rest
            backend_r, backend_w = await asyncio.open_connection("127.0.0.1", self.backend_port)
            await asyncio.gather(self._pipe(client_r, backend_w), self._pipe(backend_r, client_w))
        except (OSError, asyncio.CancelledError):  # cancelled: by stop(), the task ends here
            pass
        finally:
            for writer in (client_w, backend_w):
                if writer is not None:
                    with contextlib.suppress(OSError):
                        writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self.flowing.wait()
                chunk = await reader.read(1 << 16)
                if not chunk:
                    break
                await self.flowing.wait()  # read just before the pause: held until it ends
                writer.write(chunk)
                await writer.drain()
                self.bytes_forwarded += len(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.close()


class MdnSink(_LoopThread):
    """Reads each HTTP/1.1 request (Content-Length bodies), answers 200, keeps nothing."""

    name = "chaos-mdn-sink"

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/as2/mdn"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                await reader.readexactly(length)
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError):
            pass
        except asyncio.CancelledError:  # by stop(); Python 3.11's start_server would log it
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.close()
