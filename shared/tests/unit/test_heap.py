"""What a service builds while starting is frozen out of full collections; what it drops
while starting is collected first, not kept for ever; every service's entry does this."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from as2bus.shared import entry
from as2bus.shared.heap import freeze_start_up_objects, frozen_after_start_up
from as2bus.shared.settings import ServiceSettings
from as2bus.shared.starting import StartingGate
from as2bus.testing.waiting import until


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test run collects as usual


def _tracked(obj: object) -> bool:
    """Whether the collector's generations hold obj (frozen objects are in none of them)."""
    return any(o is obj for o in gc.get_objects())


def _app_that_builds(built: list[Node]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        built.append(Node())  # a component made while starting, kept while the app runs
        yield

    return FastAPI(lifespan=lifespan)


async def _while_running(app: FastAPI, check: Any) -> None:
    async with app.router.lifespan_context(app):
        check()


def test_what_the_lifespan_builds_is_frozen_once_it_has_started() -> None:
    built: list[Node] = []
    app = _app_that_builds(built)
    frozen_after_start_up(app)

    def check() -> None:
        assert len(built) == 1
        assert gc.get_freeze_count() > 0
        assert not _tracked(built[0])

    asyncio.run(_while_running(app, check))


def test_without_it_the_same_component_stays_in_the_collections() -> None:
    built: list[Node] = []
    app = _app_that_builds(built)
    asyncio.run(_while_running(app, lambda: None))
    assert _tracked(built[0])
    assert gc.get_freeze_count() == 0


def test_garbage_left_by_starting_is_collected_before_the_freeze() -> None:
    dropped = weakref.ref(Node())  # unreachable, but alive until a collection finds its cycle
    kept = Node()
    assert dropped() is not None
    frozen = freeze_start_up_objects()
    assert dropped() is None
    assert frozen == gc.get_freeze_count() > 0
    assert not _tracked(kept)


async def _through_the_gate(gate: StartingGate, check: Any) -> None:
    """As uvicorn drives the app the entry serves: start it, wait until the lifespan behind the
    gate has started, look, stop it."""
    to_gate: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await to_gate.put({"type": "lifespan.startup"})

    async def told(_message: Any) -> None:
        pass

    lifespan = asyncio.create_task(gate({"type": "lifespan", "state": {}}, to_gate.get, told))
    await until(lambda: gate.started, what="the app's lifespan started behind the gate")
    check()
    await to_gate.put({"type": "lifespan.shutdown"})
    await lifespan


def test_every_service_entry_freezes_after_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Node] = []
    seen: dict[str, bool] = {}

    def run(server: uvicorn.Server, *_args: Any) -> None:  # instead of serving: start, look, stop
        def check() -> None:
            seen["frozen"] = not _tracked(built[0])

        gate = server.config.app
        assert isinstance(gate, StartingGate)
        asyncio.run(_through_the_gate(gate, check))

    monkeypatch.setattr(uvicorn.Server, "run", run)  # entry runs a uvicorn.Server
    status = entry.service_main(
        "probe-svc",
        serve_help="serve",
        settings=ServiceSettings,
        create_app=lambda _settings: _app_that_builds(built),
        migrations="unused",
        argv=["serve"],
    )
    assert status == 0
    assert seen == {"frozen": True}
