"""The service process: the token guards the API and the stream, the operations routes stay
open, and the live stream pushes each status change as it is applied."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from as2bus.testing.tracklog import outbound

from .conftest import client, publish

__all__ = ["client"]  # the fixture, used by name


async def sse_events(
    response: httpx.Response,
) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
    """(event, data) of each Server-Sent Event; comments (keep-alives) are skipped."""
    kind, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            yield kind, json.loads(data)
            kind, data = "message", ""


async def test_token_open_routes_and_the_live_stream(
    nats_url: str, sqlite_url: str, start_service: Any, client: Any
) -> None:
    proc = start_service(sqlite_url)
    anonymous, api = client(proc, token=False), client(proc)
    for path in ("/api/v1/messages", "/api/v1/stream", "/api/v1/stats", "/api/v1/certificates"):
        assert (await anonymous.get(path)).status_code == 401, path
    wrong = await anonymous.get("/api/v1/messages", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    for path in ("/healthz", "/readyz", "/metrics", "/docs"):
        assert (await anonymous.get(path)).status_code == 200, path
    spec = (await anonymous.get("/openapi.json")).json()
    assert {"/api/v1/messages", "/api/v1/messages/{message_ref}", "/api/v1/stats",
            "/api/v1/stream", "/api/v1/certificates/rotations"} <= set(spec["paths"])  # fmt: skip
    assert "text/event-stream" in json.dumps(spec["paths"]["/api/v1/stream"])

    events = outbound("<live@myco>", retries=1, mdn_mode="async")
    seen = []
    params = {"direction": "outbound", "partner": "ACME"}  # in any case, as the list filters
    async with api.stream("GET", "/api/v1/stream", params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = sse_events(response)
        for event in events:  # one at a time, so each is its own status change
            await publish(nats_url, [event])
            kind, change = await asyncio.wait_for(anext(stream), timeout=10)
            assert kind == "status"
            seen.append((change["previous_status"], change["status"]))
        await stream.aclose()
    assert seen == [
        (None, "queued"), ("queued", "retrying"), ("retrying", "sent"), ("sent", "delivered"),
    ]  # fmt: skip
    assert change["message_id"] == "<live@myco>"
    metrics = (await anonymous.get("/metrics")).text
    assert 'as2bus_tracklog_events_total{type="MdnReceived"} 1.0' in metrics
