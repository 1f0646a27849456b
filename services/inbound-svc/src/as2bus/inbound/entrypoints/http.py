"""The AS2 endpoint: one POST route for messages and async MDNs, plus the ops routes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from as2bus.inbound.service import Receiver
from as2bus.shared import as2


def as2_router(path: str, max_header_bytes: int) -> APIRouter:
    router = APIRouter()

    @router.post(
        path,
        tags=["as2"],
        summary="Receive an AS2 message or an asynchronous MDN",
        response_class=Response,
    )
    async def receive(request: Request) -> Response:
        header_bytes = sum(len(k) + len(v) for k, v in request.headers.raw)
        if header_bytes > max_header_bytes:
            return Response(f"headers larger than {max_header_bytes} bytes\n", status_code=400)
        receiver: Receiver = request.app.state.receiver
        body = await request.body()
        headers = dict(request.headers)
        if as2.is_mdn(headers, body):
            answer = await receiver.receive_mdn(headers, body)
        else:
            answer = await receiver.receive(headers, body)
        return Response(answer.body, status_code=answer.status_code, headers=answer.headers)

    return router
