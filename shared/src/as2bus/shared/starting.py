"""A service answers HTTP, and stops on SIGTERM, from its first second, while it starts.

uvicorn listens only once the app's lifespan has started, and handles SIGTERM and SIGINT only
from then on. A lifespan that waits (for NATS, when the pod was scheduled before NATS's) left
the process with nothing listening, its probes refused without a word, and deaf to
Kubernetes' stop and to Ctrl-C until SIGKILL. ``StartingGate`` tells uvicorn at once
that the app has started and runs the app's lifespan in the background; until it finishes,
the probes' routes are the app's own and every other route answers 503 saying what the start
waits for. A lifespan that fails stops the server (``on_failure``); a stop asked meanwhile
cancels it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from as2bus.shared.logs import PROBE_PATHS, one_line

log = logging.getLogger("as2bus.starting")

#: How long a client is asked to wait before asking again, while the service starts.
RETRY_AFTER_SECONDS = 5
#: How long a stop waits for a cancelled start to unwind (its ``finally`` blocks).
CANCEL_GRACE_SECONDS = 5.0


class StartupProgress:
    """What the process's start waits for, in one sentence ("starting: waiting for NATS at
    nats:4222 (attempt 6): ConnectionRefusedError: ..."): the bus connection says it (see
    bus/connection.py), the gate's 503s and the ``nats`` readiness check repeat it. One per
    process, as there is one service per process."""

    def __init__(self) -> None:
        self.sentence = "starting: not connected to NATS yet"  # e.g. while migrating first

    def say(self, sentence: str) -> None:
        self.sentence = sentence


STARTUP = StartupProgress()


class _UvicornStartLines(logging.Filter):
    """uvicorn's "Waiting for application startup." and "Application startup complete." now
    come before the app has started (the gate answers at once): they would tell the operator
    the service has started while it still waits. Each service logs when it is ready."""

    SAID = frozenset({"Waiting for application startup.", "Application startup complete."})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self.SAID


class StartingGate:
    """ASGI middleware around the whole app; see the module's docstring."""

    def __init__(self, app: ASGIApp, progress: StartupProgress = STARTUP) -> None:
        self.app = app
        self.progress = progress
        self.started = False  # the app's lifespan has started: everything goes through
        self.failed = False  # it failed: the server is stopping
        self.on_failure: Callable[[], None] = lambda: None
        uvicorn_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _UvicornStartLines) for f in uvicorn_log.filters):
            uvicorn_log.addFilter(_UvicornStartLines())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif self.started or _path(scope) in PROBE_PATHS:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await self._not_yet(scope, send)
        else:  # a websocket: closed before it is accepted (a 403 to the client)
            await send({"type": "websocket.close", "code": 1013})

    async def _not_yet(self, scope: Scope, send: Send) -> None:
        """503 with one sentence: plain text for a browser, ``{"detail": ...}`` for the API
        clients (as every other refusal of the APIs)."""
        sentence = self.progress.sentence
        accept = dict(scope.get("headers", [])).get(b"accept", b"")
        if b"text/html" in accept:
            body, kind = f"{sentence}\n".encode(), b"text/plain; charset=utf-8"
        else:
            body, kind = json.dumps({"detail": sentence}).encode(), b"application/json"
        headers = [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """uvicorn's side of the lifespan protocol, answered at once; the app's side driven by
        ``_start`` in the background, and stopped in step with uvicorn's shutdown."""
        to_app: asyncio.Queue[Message] = asyncio.Queue()
        from_app: asyncio.Queue[Message] = asyncio.Queue()
        await to_app.put(await receive())  # lifespan.startup

        async def lifespan() -> None:
            await self.app(scope, to_app.get, from_app.put)

        app = asyncio.create_task(lifespan(), name="lifespan")
        starting = asyncio.create_task(self._start(app, from_app), name="starting")
        await send({"type": "lifespan.startup.complete"})  # uvicorn listens from here
        await receive()  # lifespan.shutdown: uvicorn stops (a signal, or on_failure)
        if not starting.done():  # stopped while it starts: the start is given up
            for task in (starting, app):
                task.cancel()
            await asyncio.wait({starting, app}, timeout=CANCEL_GRACE_SECONDS)
            if app.done() and not app.cancelled():
                app.exception()  # retrieved: an error while unwinding is no news now
            await send({"type": "lifespan.shutdown.complete"})
        elif self.started:  # the app stops as it always has, and uvicorn hears how it went
            await to_app.put({"type": "lifespan.shutdown"})
            await send(await from_app.get())
            await app  # an app whose shutdown failed raises here, for uvicorn to log
        else:
            await send({"type": "lifespan.shutdown.complete"})

    async def _start(self, app: asyncio.Task[None], from_app: asyncio.Queue[Message]) -> None:
        told = asyncio.ensure_future(from_app.get())
        try:
            await asyncio.wait({told, app}, return_when=asyncio.FIRST_COMPLETED)
            said = told.result() if told.done() else None
        finally:
            told.cancel()
        if said is not None and said["type"] == "lifespan.startup.complete":
            self.started = True
            return
        # lifespan.startup.failed: the app's task ends with the error right after saying so.
        await asyncio.wait({app}, timeout=CANCEL_GRACE_SECONDS)
        error = app.exception() if app.done() and not app.cancelled() else None
        self.failed = True
        self.progress.say(f"stopping: the service could not start: {_said(error)}")
        log.error("could not start: %s; stopping", _said(error))
        if error is not None:
            log.debug("why it could not start", exc_info=error)
        self.on_failure()


def _said(error: BaseException | None) -> str:
    return one_line(error) if error is not None else "its start-up ended without a reason"


def _path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path.removeprefix(root) if root and path.startswith(root) else path
