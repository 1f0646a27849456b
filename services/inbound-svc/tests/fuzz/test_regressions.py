"""What the fuzzer found, each as the exact request that showed it (``make fuzz``,
``docs/reliability.md``): no randomness, no keys where none are needed (the LAX partner
requires neither signature nor encryption, so the bytes reach the parsers as they are)."""

from __future__ import annotations

import asyncio
import socket
import tracemalloc
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from as2bus.contracts import MdnReceived, MessageReceived

from ..unit.receiving import PARTNER
from . import harness
from .grammar import BOMB_BYTES, LAX, Layer, Message, Mutation, Shape, bomb_der, build
from .oracle import fresh_sut


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return harness.fuzz_app(tmp_path_factory.mktemp("regressions"))


@pytest.fixture(scope="module")
def server(app: FastAPI) -> Iterator[harness.Server]:
    with harness.served(app) as served:
        yield served


# -- 1. A client gone mid-body made an exception escape the app ---------------------------------

#: A chunked body whose first chunk size is not hexadecimal. uvicorn answers 400 itself and
#: tells the app the client is gone (``http.disconnect``); Starlette then raised
#: ClientDisconnect out of the route: "Exception in ASGI application" and its traceback were
#: logged at ERROR for every such request (anyone can send them), and the ASGI app raised.
BROKEN_CHUNKS = (
    b"POST /as2 HTTP/1.1\r\n"
    b"Host: mycompany.example\r\n"
    b"AS2-From: ACME\r\n"
    b"AS2-To: MYCO\r\n"
    b"Message-ID: <order-1@acme>\r\n"
    b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"zz\r\nnot a chunk\r\n0\r\n\r\n"
)


def test_a_broken_chunked_body_is_answered_400_with_no_error_logged(
    server: harness.Server,
) -> None:
    sut = harness.install(server.app)
    logged = len(server.errors.records)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        conn.sendall(BROKEN_CHUNKS)
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert [r.getMessage() for r in server.errors.records[logged:]] == []
    assert sut.bus.events == []
    assert sut.documents.objects == {}


class GoneClient:
    """An ASGI client that is gone after ``pieces`` (the server says ``http.disconnect``)."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self.pieces:
            return {"type": "http.request", "body": self.pieces.pop(0), "more_body": True}
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)


@pytest.mark.parametrize(
    "pieces",
    [(), (b"0" * 40_000,)],  # before any byte; after more than the spool threshold (a file)
    ids=["at-once", "after-a-spooled-part"],
)
def test_a_client_gone_mid_body_makes_no_exception_escape_the_app(
    app: FastAPI, pieces: tuple[bytes, ...]
) -> None:
    sut = harness.install(app)
    client = GoneClient(*pieces)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/as2", "raw_path": b"/as2", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8080),
        "headers": [(b"as2-from", b"ACME"), (b"as2-to", b"MYCO"),
                    (b"message-id", b"<order-1@acme>"), (b"content-length", b"80000")],
    }  # fmt: skip

    asyncio.run(app(scope, client.receive, client.send))  # raised ClientDisconnect

    (start,) = [m for m in client.sent if m["type"] == "http.response.start"]
    assert start["status"] == 400
    assert (b"connection", b"close") in start["headers"]
    assert sut.bus.events == []
    assert sut.documents.objects == {}


# -- 2. A refusal quoted a partner's value whole ------------------------------------------------

#: CompressedData whose compression algorithm is an OBJECT IDENTIFIER of 70,000 octets (0x2a,
#: "42", each). The refusal quoted it in dotted form: a 182,797-byte reason in the 400 (or
#: the negative MDN's text), in MessageRejected and in the log line.
LONG_OID = (
    bytes.fromhex(
        "30830111a6"  # ContentInfo
        "060b2a864886f70d0109100109"  # compressedData
        "a083011194"  # [0]
        "308301118f"  # CompressedData
        "020100"  # version 0
        "3083011175"  # compressionAlgorithm
        "0683011170"  # OBJECT IDENTIFIER, 70,000 octets:
    )
    + b"\x2a" * 70_000
    + bytes.fromhex("301006092a864886f70d010701a003040178")  # data, [0] { "x" }
)
LAX_HEADERS = {
    "as2-from": LAX,
    "as2-to": "MYCO",
    "message-id": "<long-oid@lax>",
    "content-type": "application/pkcs7-mime; smime-type=compressed-data",
}


def test_a_refusal_quotes_a_partners_value_at_most_a_thousand_characters() -> None:
    sut = fresh_sut()
    answer = asyncio.run(sut.receiver.receive(LAX_HEADERS, LONG_OID))
    assert answer.status_code == 400
    reason = answer.body.decode()
    assert reason.startswith("unexpected-processing-error: unsupported compression '1.2.42.42")
    assert reason.endswith(" characters in all)\n")
    assert len(reason) < 1100  # was 182,797 bytes


#: An MDN whose disposition part names a Content-Transfer-Encoding of 5,000 characters: the
#: 400 quoted it whole.
LONG_ENCODING_MDN = (
    b"--b\r\n"
    b"Content-Type: message/disposition-notification\r\n"
    b"Content-Transfer-Encoding: " + b"x" * 5000 + b"\r\n"
    b"\r\n"
    b"Original-Message-ID: <sent-1@myco>\r\n"
    b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n"
    b"\r\n"
    b"--b--\r\n"
)
MDN_HEADERS = {
    "as2-from": "ACME",
    "as2-to": "MYCO",
    "message-id": "<mdn-1@acme>",
    "content-type": "multipart/report; report-type=disposition-notification; boundary=b",
}


def test_an_unreadable_mdn_is_refused_with_a_short_reason() -> None:
    sut = fresh_sut()
    answer = asyncio.run(sut.mdn_receiver.receive(MDN_HEADERS, LONG_ENCODING_MDN))
    assert answer.status_code == 400
    reason = answer.body.decode()
    assert reason.startswith("not a readable MDN: unknown Content-Transfer-Encoding 'xxx")
    assert len(reason) < 1100
    assert sut.bus.of_type(MdnReceived) == []


#: A multipart/signed whose signature part's Content-Type holds control characters and a
#: byte that is not ASCII (a flipped byte in a real message did it): the reason quoted it as
#: it was, unprintable, in the 400, the negative MDN's text and the log line.
BINARY_TYPE_HEADERS = {
    "as2-from": LAX,
    "as2-to": "MYCO",
    "message-id": "<binary-type@lax>",
    "content-type": 'multipart/signed; protocol="application/pkcs7-signature"; boundary=b',
}
BINARY_TYPE = (
    b"--b\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"hello\r\n"
    b"--b\r\n"
    b"Content-Type: application/pk\x13\x1f\x0e\xff7-signature\r\n"
    b"\r\n"
    b"MIIB\r\n"
    b"--b--\r\n"
)


def test_a_refusal_escapes_what_does_not_print() -> None:
    sut = fresh_sut()
    answer = asyncio.run(sut.receiver.receive(BINARY_TYPE_HEADERS, BINARY_TYPE))
    assert answer.status_code == 400
    reason = answer.body.decode()
    assert reason.startswith("unexpected-processing-error: the message could not be read: ")
    assert "the signature part is application/pk\\x13\\x1f\\x0e" in reason
    assert reason[:-1].isprintable()
    assert reason.endswith("\n")


#: An MDN whose report entity folds its Content-Type in the middle of a word: the 400 quoted
#: the type with its CR LF ("not an MDN: m\r\n ultipart/report"), a reason on two lines.
FOLDED_MDN = (
    b"Content-Type: m\r\n ultipart/report; report-type=disposition-notification; boundary=b\r\n"
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: message/disposition-notification\r\n"
    b"\r\n"
    b"Original-Message-ID: <sent-1@myco>\r\n"
    b"Disposition: automatic-action/MDN-sent-automatically; processed\r\n"
    b"\r\n"
    b"--b--\r\n"
)


def test_an_mdn_refused_for_a_folded_type_says_so_on_one_line() -> None:
    sut = fresh_sut()
    headers = {k: v for k, v in MDN_HEADERS.items() if k != "content-type"}
    answer = asyncio.run(sut.mdn_receiver.receive(headers, FOLDED_MDN))
    assert answer.status_code == 400
    assert answer.body == b"not an MDN: m\\r\\n ultipart/report\n"


def test_an_mdn_from_an_unknown_partner_is_refused_with_a_short_reason() -> None:
    sut = fresh_sut()
    headers = {**MDN_HEADERS, "as2-from": "E" * 9000}
    answer = asyncio.run(sut.mdn_receiver.receive(headers, LONG_ENCODING_MDN))
    assert answer.status_code == 403
    assert len(answer.body) < 1100  # 9,030 bytes


# -- 3. A compression bomb in a small body took the payload limit in memory ---------------------


@pytest.mark.parametrize("spooled", [False, True], ids=["in-memory", "from-a-file"])
def test_a_compression_bomb_is_refused_in_bounded_memory(tmp_path: Path, spooled: bool) -> None:
    """CompressedData of 1 GiB of zeros (1,061,921 bytes of zlib data, ``grammar.bomb_der``:
    a full-flush segment repeated, so the bytes are built in milliseconds), sent as it is by
    a partner that requires no protection (as anyone can send it to one that requires
    encryption: inside an EnvelopedData for our public certificate, outside any signature).
    With a payload limit of 256 MiB, a body read in memory inflated into memory files up to
    the limit before it was refused: a 287 MiB peak for a 1 MB request (1 GiB with
    inbound-svc's default limit). Now past 8 MiB a layer goes to a temporary file."""
    body = bomb_der(0)
    assert len(body) < 1_100_000
    assert BOMB_BYTES == 1 << 30
    sut = fresh_sut(max_payload_bytes=256 << 20)
    headers = {**LAX_HEADERS, "message-id": "<bomb@lax>"}
    tracemalloc.start()
    try:
        if spooled:
            with (tmp_path / "body").open("w+b") as file:
                file.write(body)
                file.seek(0)
                answer = asyncio.run(sut.receiver.receive(headers, file))
        else:
            answer = asyncio.run(sut.receiver.receive(headers, body))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.status_code == 400
    assert b"exceeds the limit of 268435456 bytes" in answer.body
    assert peak < 32 << 20, f"{peak / 2**20:.0f} MiB"
    assert sut.bus.of_type(MessageReceived) == []
    assert sut.documents.objects == {}


# -- 4. An oracle mistake: a double signature stripped of its outer layer ------------------------

#: ``make fuzz`` (2026-12-05, ``FUZZ_SEED=772247062``) counted a delivery as a violation:
#: ACME's document signed twice, then encrypted (a nesting trick, refused), with two header
#: lines removed from the outer signature's entity. What was left is the inner multipart/signed
#: (ACME's valid signature over the document, the outer signature part as epilogue) inside the
#: encryption: a message ACME did send, signed and encrypted once. The receiver delivers it
#: with the document unchanged, rightly; the oracle now knows that such a change may take its
#: layer away.
STRIPPED = Message(
    Shape(
        partner=PARTNER,
        base64=True,
        layers=(Layer("sign"), Layer("sign"), Layer("encrypt", key="myco")),
        mdn="async-signed",
    ),
    (Mutation(2, "entity", "header-remove", (0, 0, 0, 0)),) * 2,
)


def test_a_double_signature_stripped_of_its_outer_layer_is_acmes_signed_message() -> None:
    assert not STRIPPED.shape.protected()
    assert STRIPPED.expectation() == "same"
    request = build(STRIPPED)
    sut = fresh_sut()
    answer = asyncio.run(sut.receiver.receive(request.mapping(), request.body))
    assert answer.status_code == 200
    [received] = sut.bus.of_type(MessageReceived)
    assert received.data.signed
    assert received.data.encrypted
    assert sut.documents.objects[received.data.document.name] == STRIPPED.shape.payloads[0]
    # Unbroken, the same shape is refused: a layer twice.
    unbroken = build(Message(STRIPPED.shape, message_id="<order-2@acme>"))
    refused = asyncio.run(sut.receiver.receive(unbroken.mapping(), unbroken.body))
    assert len(sut.bus.of_type(MessageReceived)) == 1, refused.body
