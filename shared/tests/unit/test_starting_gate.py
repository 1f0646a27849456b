"""The gate every service's entry puts in front of its app (shared/starting.py): uvicorn hears
"started" at once, the app's lifespan runs behind it; until it has started, the probes' routes
are the app's and every other route answers 503 with what the start waits for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from as2bus.shared.starting import StartingGate, StartupProgress
from as2bus.testing.waiting import until


class Uvicorn:
    """uvicorn's side of the lifespan protocol, as its LifespanOn drives it."""

    def __init__(self, gate: StartingGate) -> None:
        self.gate = gate
        self.told: list[str] = []
        self._asks: asyncio.Queue[Message] = asyncio.Queue()
        self._running: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._asks.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "state": {}}
        self._running = asyncio.create_task(self.gate(scope, self._asks.get, self._tell))
        await until(lambda: "lifespan.startup.complete" in self.told, what="uvicorn told")

    async def stop(self) -> None:
        assert self._running is not None
        await self._asks.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self._running, timeout=2)

    async def _tell(self, message: Message) -> None:
        self.told.append(message["type"])


def _app(lifespan: Any) -> FastAPI:
    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/things")
    async def things() -> list[str]:
        return []

    return app


async def _get(gate: StartingGate, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=gate)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        return await http.get(path, headers=headers)


async def test_while_the_lifespan_waits_the_api_says_why_and_the_probes_answer() -> None:
    nats_up = asyncio.Event()
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await nats_up.wait()
        events.append("started")
        yield
        events.append("stopped")

    progress = StartupProgress()
    progress.say("starting: waiting for NATS at nats:4222 (attempt 3): ConnectionRefusedError")
    gate = StartingGate(_app(lifespan), progress)
    uvicorn = Uvicorn(gate)
    await uvicorn.start()  # at once, though the lifespan waits

    refused = await _get(gate, "/api/v1/things")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert refused.json() == {"detail": progress.sentence}
    browser = await _get(gate, "/api/v1/things", accept="text/html,*/*")
    assert (browser.status_code, browser.text) == (503, f"{progress.sentence}\n")
    assert (await _get(gate, "/healthz")).status_code == 200

    nats_up.set()
    await until(lambda: gate.started, what="the lifespan started")
    assert (await _get(gate, "/api/v1/things")).status_code == 200
    await uvicorn.stop()
    assert events == ["started", "stopped"]  # the app stopped as it always has
    assert uvicorn.told == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_a_stop_while_it_waits_gives_the_start_up_promptly() -> None:
    unwound: list[str] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await asyncio.Event().wait()  # NATS never comes
        finally:
            unwound.append("closed what it opened")
        yield

    uvicorn = Uvicorn(StartingGate(_app(lifespan), StartupProgress()))
    await uvicorn.start()
    await uvicorn.stop()  # within wait_for's 2 s
    assert unwound == ["closed what it opened"]
    assert uvicorn.told[-1] == "lifespan.shutdown.complete"


async def test_a_start_up_that_fails_stops_the_server_with_one_sentence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = PermissionError("nats: 'Authorization Violation'\nmore detail")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if refused:
            raise refused
        yield

    progress = StartupProgress()
    gate = StartingGate(_app(lifespan), progress)
    stopping = asyncio.Event()
    gate.on_failure = stopping.set
    uvicorn = Uvicorn(gate)
    with caplog.at_level(logging.INFO, logger="as2bus.starting"):
        await uvicorn.start()
        await asyncio.wait_for(stopping.wait(), timeout=2)
    assert gate.failed
    assert not gate.started
    said = [r.getMessage() for r in caplog.records if r.name == "as2bus.starting"]
    assert said == ["could not start: PermissionError: nats: 'Authorization Violation'; stopping"]
    meanwhile = await _get(gate, "/api/v1/things")
    assert meanwhile.json()["detail"].startswith("stopping: the service could not start: ")
    await uvicorn.stop()
    assert uvicorn.told[-1] == "lifespan.shutdown.complete"
