"""as2bus_ready{service} follows the readiness checks: at once when /readyz runs them, and on
a timer while the app runs (nothing probing); a check that hangs counts as not ready."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from as2bus.shared.web import add_ops_routes


class Dependency:
    def __init__(self) -> None:
        self.up = True
        self.hangs = False

    async def check(self) -> None:
        if self.hangs:
            await asyncio.sleep(3600)
        if not self.up:
            raise ConnectionError("the database does not answer")


def _app(every: float) -> tuple[FastAPI, Dependency, str]:
    service = f"probe-{uuid.uuid4().hex[:8]}-svc"
    app = FastAPI(title=f"as2bus {service}")
    dependency = Dependency()
    add_ops_routes(app, {"database": dependency.check}, readiness_every=every)
    return app, dependency, service


def _ready(service: str) -> float | None:
    return REGISTRY.get_sample_value("as2bus_ready", {"service": service})


async def _becomes(service: str, value: float, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while _ready(service) != value:
        assert time.monotonic() < deadline, f"as2bus_ready stayed {_ready(service)}"
        await asyncio.sleep(0.02)


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")


async def test_readyz_sets_the_gauge_at_once() -> None:
    app, dependency, service = _app(every=3600)  # the timer runs once, at the start
    assert _ready(service) == 0  # not ready before anything was checked
    async with app.router.lifespan_context(app), _client(app) as client:
        await _becomes(service, 1)
        dependency.up = False
        assert (await client.get("/readyz")).status_code == 503
        assert _ready(service) == 0
        dependency.up = True
        assert (await client.get("/readyz")).status_code == 200
        assert _ready(service) == 1
        scraped = (await client.get("/metrics")).text
        assert f'as2bus_ready{{service="{service}"}} 1.0' in scraped
    assert _ready(service) == 0  # stopped


async def test_the_timer_follows_the_checks_without_a_probe() -> None:
    app, dependency, service = _app(every=0.05)
    async with app.router.lifespan_context(app):
        await _becomes(service, 1)
        dependency.up = False
        await _becomes(service, 0)
        dependency.up = True
        await _becomes(service, 1)
        dependency.hangs = True  # no answer within the timer's period: not ready
        await _becomes(service, 0)
