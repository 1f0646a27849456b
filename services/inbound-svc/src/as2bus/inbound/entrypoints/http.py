"""The AS2 endpoint: one POST route for messages and async MDNs, plus the ops routes.

A body up to ``Spooling.threshold`` is read into memory; a larger one goes to a temporary
file as it arrives and the receiver decrypts and verifies it from there, so a 100 MB document
does not cost inbound-svc several times 100 MB of memory.

What an unauthenticated client controls is bounded while it is read (``BodyLimits``): an MDN,
recognised by its start, may be ``max_mdn_bytes`` at most and is read no further; a body whose
next bytes do not come within ``idle_seconds`` ends the request with 408 and the connection,
and so does one not complete within its deadline (``BodyLimits.deadline``): a byte every few
seconds never waits ``idle_seconds``, and would hold a connection for hours.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect

from as2bus import as2
from as2bus.inbound.wiring import wiring

#: An MDN is a few KB; to tell one from a message, its start is plenty.
_MDN_SNIFF_BYTES = 64 * 1024
#: Enough of a multipart/signed body to see its first part's Content-Type.
_FIRST_PART_BYTES = 4096
_REPORT = re.compile(rb"content-type:\s*multipart/report", re.IGNORECASE)
#: A large body goes to its file this much at a time: one thread hop per MiB, not per piece
#: the server hands over (64 KiB: 1,600 hops for 100 MB).
_SPOOL_WRITE_BYTES = 1 << 20


@dataclass(frozen=True)
class Spooling:
    threshold: int  # bodies over this many bytes go to a temporary file (in $TMPDIR)
    #: Makes that file; it may have been used before (``as2bus.shared.recycled_files``):
    #: ``read_body`` cuts it where the body ends.
    new_file: Callable[[], BinaryIO] = tempfile.TemporaryFile


_MIB = 1 << 20


@dataclass(frozen=True)
class BodyLimits:
    max_mdn_bytes: int
    idle_seconds: float  # the longest wait for the body's next bytes
    #: The whole body must arrive within ``deadline_seconds`` plus ``seconds_per_mib`` for
    #: each MiB (of its Content-Length, or of what came so far when it is chunked): a lower
    #: bound on its average rate, after a grace for small bodies and slow starts.
    deadline_seconds: float = 60.0
    seconds_per_mib: float = 10.0

    def deadline(self, size: int) -> float:
        """Seconds a body of ``size`` bytes may take, from its first wait on."""
        return self.deadline_seconds + self.seconds_per_mib * size / _MIB

    def too_slow(self, size: int) -> str:
        return (
            f"the request body was not complete within {round(self.deadline(size), 1):g} s "
            f"({self.deadline_seconds:g} s, and {self.seconds_per_mib:g} s per MiB of its "
            f"{size} bytes): it comes too slowly"
        )


class Refused(Exception):
    """The body was not read to its end; the request gets this status and reason."""

    def __init__(self, status_code: int, reason: str, *, close: bool = False) -> None:
        super().__init__(reason)
        self.status_code, self.reason, self.close = status_code, reason, close

    def response(self) -> Response:
        headers = {"Connection": "close"} if self.close else None
        return Response(self.reason + "\n", self.status_code, headers, media_type="text/plain")


def mdn_by_its_start(headers: Mapping[str, str], start: bytes) -> bool | None:
    """True when the body starting with ``start`` is an MDN, False when it is not, None when
    ``start`` is too short to tell (a multipart/signed is a signed message or a signed MDN:
    its first part says which)."""
    content_type = headers.get("content-type", "").lower()
    if content_type.startswith("multipart/report"):
        return True
    if not content_type.startswith("multipart/signed"):
        return False
    head_end = start.find(b"\r\n\r\n", start.find(b"--"))
    if head_end < 0:
        return None if len(start) < _FIRST_PART_BYTES else False
    return bool(_REPORT.search(start[:head_end]))


async def _chunks(request: Request, limits: BodyLimits) -> AsyncIterator[bytes]:
    stream = request.stream().__aiter__()
    loop = asyncio.get_running_loop()
    started = loop.time()
    declared = request.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0
    while True:
        left = started + limits.deadline(size) - loop.time()
        try:
            async with asyncio.timeout(min(limits.idle_seconds, max(left, 0))):
                chunk = await anext(stream)
        except StopAsyncIteration:
            return
        except TimeoutError:
            if left <= limits.idle_seconds:
                raise Refused(408, limits.too_slow(size), close=True) from None
            reason = f"no bytes of the request body for {limits.idle_seconds:g} s"
            raise Refused(408, reason, close=True) from None
        except ClientDisconnect:
            # The client went away mid-body, or the server gave up on it (uvicorn ends a
            # request whose chunked framing is broken this way, after answering 400 itself):
            # nothing to answer, and nothing that should reach the log as an error.
            reason = "the request body ended before it was complete (the client went away)"
            raise Refused(400, reason, close=True) from None
        if not declared.isdigit():  # chunked: its deadline grows with what came
            size += len(chunk)
        yield chunk


async def read_body(request: Request, spooling: Spooling, limits: BodyLimits) -> bytes | BinaryIO:
    """The request body: bytes, or an open temporary file (position 0) when it is large.
    Raises `Refused` for an MDN over its limit, a body that stops coming, or one whose
    client went away before its end."""
    headers = request.headers
    mdn_limit = _mdn_limit_refusal(limits.max_mdn_bytes)
    declared = headers.get("content-length", "")
    too_long = declared.isdigit() and int(declared) > limits.max_mdn_bytes
    if too_long and mdn_by_its_start(headers, b"") is True:
        raise mdn_limit
    held: list[bytes] = []
    size = held_bytes = 0
    file: BinaryIO | None = None
    is_mdn: bool | None = None
    try:
        async for chunk in _chunks(request, limits):
            size += len(chunk)
            if is_mdn is None:
                is_mdn = mdn_by_its_start(headers, b"".join([*held, chunk])[:_FIRST_PART_BYTES])
            if is_mdn and size > limits.max_mdn_bytes:
                raise mdn_limit
            held.append(chunk)
            held_bytes += len(chunk)
            if file is None and size > spooling.threshold:
                file = spooling.new_file()
            if file is not None and held_bytes >= _SPOOL_WRITE_BYTES:
                await asyncio.to_thread(file.writelines, held)
                held.clear()
                held_bytes = 0
        if file is not None and held:
            await asyncio.to_thread(file.writelines, held)
        if file is not None:
            file.truncate()  # where the body ends: the receiver reads the file to its end
    except BaseException:
        if file is not None:
            file.truncate(0)  # what an abandoned body spooled is freed, not kept for reuse
            file.close()
        raise
    if file is None:
        return b"".join(held)
    file.seek(0)
    return file


def _mdn_limit_refusal(limit: int) -> Refused:
    return Refused(413, f"an MDN is at most {limit} bytes; this one is larger", close=True)


def as2_router(
    path: str, max_header_bytes: int, spooling: Spooling, limits: BodyLimits
) -> APIRouter:
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
        components = wiring.get(request)
        receiver, mdn_receiver = components.receiver, components.mdn_receiver
        try:
            body = await read_body(request, spooling, limits)
        except Refused as refused:
            return refused.response()
        headers = dict(request.headers)
        certificate = client_certificate(request)
        try:
            if isinstance(body, bytes) and as2.is_mdn(headers, body):
                answer = await mdn_receiver.receive(headers, body, certificate)
            elif not isinstance(body, bytes) and as2.is_mdn(headers, _start(body)):
                mdn = await asyncio.to_thread(body.read)
                answer = await mdn_receiver.receive(headers, mdn, certificate)
            else:
                answer = await receiver.receive(headers, body, certificate)
        finally:
            if not isinstance(body, bytes):
                body.close()
        # The server writes the one Date header of every response; an MDN's own would be a
        # second one.
        answer_headers = {k: v for k, v in answer.headers.items() if k.lower() != "date"}
        return Response(answer.body, status_code=answer.status_code, headers=answer_headers)

    return router


def client_certificate(request: Request) -> bytes | None:
    """The TLS client certificate (DER) the connection's handshake verified, from the ASGI
    TLS extension (entrypoints/server.py); None without TLS or without one."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return ssl.PEM_cert_to_DER_cert(chain[0]) if chain else None


def _start(file: BinaryIO) -> bytes:
    head = file.read(_MDN_SNIFF_BYTES)
    file.seek(0)
    return head
