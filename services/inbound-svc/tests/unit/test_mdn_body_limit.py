"""The real inbound-svc app, driven through ASGI by hand: an MDN over its limit is read no
further than the limit (plus the chunk that crossed it), whatever the client keeps sending."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from as2bus.inbound.bootstrap import create_app
from as2bus.inbound.domain import Answer
from as2bus.inbound.settings import InboundSettings
from as2bus.inbound.wiring import Components, wiring
from as2bus.shared.crypto import generate_master_key

LIMIT = 16 * 1024
CHUNK = 4096
ENOUGH = 4 << 20  # where the client stops, so that a service reading it all still answers


class Receiver:
    """Stands in for the message use case."""

    async def receive(self, _headers: object, _body: object, _certificate: object) -> Answer:
        return Answer.text(200, "read as a message")


class MdnReceiver:
    """Stands in for the MDN use case: what reaches it was read whole."""

    async def receive(self, _headers: object, body: bytes, _certificate: object) -> Answer:
        return Answer.text(200, f"read {len(body)} bytes")


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = InboundSettings(
        master_key=generate_master_key(),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'inbound.db'}",
        AS2BUS_INBOUND_MAX_MDN_BYTES=LIMIT,
        AS2BUS_INBOUND_SPOOL_BYTES=1024,
    )
    app = create_app(settings)  # no lifespan: the use case is a stand-in
    stand_ins = Components(receiver=Receiver(), mdn_receiver=MdnReceiver())  # type: ignore[arg-type]
    wiring.install(app, stand_ins)
    return app


class EndlessClient:
    """``receive`` of a client that sends ``start`` then filler forever, counting bytes."""

    def __init__(self, start: bytes) -> None:
        self.start = start
        self.delivered = 0
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        at = self.delivered
        chunk = self.start[at : at + CHUNK] if at < len(self.start) else b"z" * CHUNK
        self.delivered += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": self.delivered < ENOUGH}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    def answer(self) -> tuple[int, bytes]:
        status = next(m["status"] for m in self.sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return status, body


def scope(content_type: str, **headers: str) -> dict[str, Any]:
    fields = [(b"content-type", content_type.encode())]
    fields += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/as2", "raw_path": b"/as2", "query_string": b"",
        "root_path": "", "headers": fields, "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }  # fmt: skip


SIGNED_MDN_START = (
    b"--outer\r\n"
    b'Content-Type: multipart/report; report-type=disposition-notification; boundary="in"\r\n'
    b"\r\n--in\r\nContent-Type: text/plain\r\n\r\n"
)


@pytest.mark.parametrize(
    ("content_type", "start"),
    [
        ("multipart/report; boundary=in", b"--in\r\nContent-Type: text/plain\r\n\r\n"),
        ('multipart/signed; protocol="application/pkcs7-signature"; boundary=outer',
         SIGNED_MDN_START),
    ],
    ids=["report", "signed report"],
)  # fmt: skip
async def test_a_streamed_mdn_is_read_no_further_than_its_limit(
    app: FastAPI, content_type: str, start: bytes
) -> None:
    client = EndlessClient(start)
    await app(scope(content_type), client.receive, client.send)
    status, body = client.answer()
    assert status == 413
    assert body == f"an MDN is at most {LIMIT} bytes; this one is larger\n".encode()
    assert client.delivered <= LIMIT + CHUNK


async def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(
    app: FastAPI,
) -> None:
    client = EndlessClient(b"")
    request = scope("multipart/report; boundary=x", content_length="150000000")
    await app(request, client.receive, client.send)
    assert client.answer()[0] == 413
    assert client.delivered == 0
