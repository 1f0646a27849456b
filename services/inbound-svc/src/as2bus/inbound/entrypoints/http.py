"""The AS2 endpoint: one POST route for messages and async MDNs, plus the ops routes.

A body up to ``Spooling.threshold`` is read into memory; a larger one goes to a temporary
file as it arrives and the receiver decrypts and verifies it from there, so a 100 MB document
does not cost inbound-svc several times 100 MB of memory.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

from fastapi import APIRouter, Request, Response

from as2bus.inbound.service import Receiver
from as2bus.shared import as2

#: An MDN is a few KB; to tell one from a message, its start is plenty.
_MDN_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Spooling:
    threshold: int  # bodies over this many bytes go to a temporary file (in $TMPDIR)


async def read_body(request: Request, spooling: Spooling) -> bytes | BinaryIO:
    """The request body: bytes, or an open temporary file (position 0) when it is large."""
    held: list[bytes] = []
    size = 0
    file: BinaryIO | None = None
    try:
        async for chunk in request.stream():
            if file is not None:
                await asyncio.to_thread(file.write, chunk)
                continue
            held.append(chunk)
            size += len(chunk)
            if size > spooling.threshold:
                file = tempfile.TemporaryFile()  # noqa: SIM115 (returned)
                await asyncio.to_thread(file.writelines, held)
                held.clear()
    except BaseException:
        if file is not None:
            file.close()
        raise
    if file is None:
        return b"".join(held)
    file.seek(0)
    return file


def as2_router(path: str, max_header_bytes: int, spooling: Spooling) -> APIRouter:
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
        body = await read_body(request, spooling)
        headers = dict(request.headers)
        try:
            if isinstance(body, bytes) and as2.is_mdn(headers, body):
                answer = await receiver.receive_mdn(headers, body)
            elif not isinstance(body, bytes) and as2.is_mdn(headers, _start(body)):
                answer = await receiver.receive_mdn(headers, await asyncio.to_thread(body.read))
            else:
                answer = await receiver.receive(headers, body)
        finally:
            if not isinstance(body, bytes):
                body.close()
        return Response(answer.body, status_code=answer.status_code, headers=answer.headers)

    return router


def _start(file: BinaryIO) -> bytes:
    head = file.read(_MDN_SNIFF_BYTES)
    file.seek(0)
    return head
