"""BodySizeLimit: a body over the limit is answered 413 with the limit, declared or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from as2bus.shared.web import BodySizeLimit


def app(limit: int) -> FastAPI:
    """Added as the services add it: inside the app's error handling, around its routes."""
    app = FastAPI()
    app.add_middleware(BodySizeLimit, max_bytes=limit)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


async def post(body: bytes | AsyncIterator[bytes]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(10))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/upload", content=body)


async def test_a_body_within_the_limit_passes() -> None:
    answer = await post(b"x" * 10)
    assert answer.status_code == 200
    assert answer.json() == {"bytes": 10}


async def test_a_declared_length_over_the_limit_is_refused_before_the_app_reads() -> None:
    answer = await post(b"x" * 11)
    assert answer.status_code == 413
    assert answer.json() == {"detail": "request body larger than 10 bytes"}


async def test_a_streamed_body_is_counted_and_refused_as_it_goes() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"xxxx"

    answer = await post(chunks())
    assert answer.status_code == 413
    assert answer.json() == {"detail": "request body larger than 10 bytes"}
