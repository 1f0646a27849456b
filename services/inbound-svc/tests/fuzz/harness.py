"""One fuzz case from its recipe to its checked ``Outcome``, at each level: the use case
(``Receiver`` on fakes), the real app through ASGI, the real app behind uvicorn on a socket.
The short run (``test_fuzz.py``) and the big one (``test_fuzz_big.py``) share these."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from as2bus.contracts import MdnReceived, MessageReceived
from as2bus.inbound.bootstrap import create_app
from as2bus.inbound.entrypoints.server import with_header_timeout
from as2bus.inbound.settings import InboundSettings
from as2bus.inbound.wiring import Components, wiring
from as2bus.shared.crypto import generate_master_key

from . import oracle
from .grammar import (
    MAX_PAYLOAD,
    Mdn,
    Message,
    Request,
    build,
    build_mdn,
    mdn_facts,
    with_header_ops,
)
from .oracle import HttpLimits, Outcome, Sut, Transport, Violation, check

HeaderOps = tuple[tuple[str, tuple[int, int]], ...]

#: The payload limit of the bomb cases: 32 times the others', with the same memory bound (the
#: inflated content goes to disk past ``spooled.MEMORY_FILE_BYTES``).
BOMB_PAYLOAD = 32 * MAX_PAYLOAD

#: The endpoint's limits in the fuzzed app: small, so that the fuzzer reaches them (a body
#: spooled to a file above 16 KiB, the MDN limit at 64 KiB, a body stalled 0.2 s).
LIMITS = HttpLimits(
    max_body_bytes=2 << 20,
    max_header_bytes=16 * 1024,
    max_mdn_bytes=64 * 1024,
    spool_bytes=16 * 1024,
    body_timeout_seconds=0.2,
)


def must_deliver(message: Message) -> bool:
    return not message.mutations and message.shape.valid()


@dataclass(frozen=True)
class MessageCase:
    """Level (a)'s case: a message, its request's header fields changed (as an HTTP server
    could hand them on), read from memory or from a file, sent alone or after the same
    message unbroken (``replay``)."""

    message: Message
    header_ops: tuple[tuple[str, tuple[int, int]], ...] = ()
    spooled: bool = False
    replay: bool = False

    def __str__(self) -> str:
        ops = " ".join(f"{op}{list(args)}" for op, args in self.header_ops)
        how = ("spooled " if self.spooled else "") + ("replayed " if self.replay else "")
        return f"{how}{self.message}{' | ' + ops if ops else ''}"

    def request(self) -> Request:
        return with_header_ops(build(self.message), self.header_ops)


async def message_case(
    case: MessageCase | Message,
    request: Request | None = None,
    *,
    spooled: bool = False,
    measure: bool = False,
    max_payload_bytes: int = MAX_PAYLOAD,
) -> Outcome:
    """Level (a) for a message: ``request`` is ``case.request()`` (built by the caller when
    it keeps the bytes of a failing case)."""
    if isinstance(case, Message):
        case = MessageCase(case, spooled=spooled)
    message = case.message
    request = request or case.request()
    replayable = case.replay and message.shape.valid() and message.shape.partner == "ACME"
    return await oracle.receive_message(
        request,
        message.expectation(),
        message.shape.payloads,
        spooled=case.spooled,
        measure=measure,
        must_deliver=must_deliver(message) and not case.header_ops,
        replay_of=build(Message(message.shape, (), message.message_id)) if replayable else None,
        max_payload_bytes=max_payload_bytes,
    )


def _mdn_expectations(mdn: Mdn) -> tuple[tuple[str, str, str | None] | None, bool, bool]:
    """(facts ACME signed or None, signed by a stranger, must be reported)."""
    facts = None if mdn.sealed() else mdn_facts(mdn.shape)
    shape = mdn.shape
    known = shape.sender == "ACME" and shape.to == "MYCO"
    return facts, shape.signer == "mallory", known and not mdn.mutations


async def mdn_case(mdn: Mdn, request: Request | None = None, header_ops: HeaderOps = ()) -> Outcome:
    """Level (a) for an MDN: ``MdnReceiver.receive``, its request's header fields changed
    by ``header_ops``."""
    facts, stranger, must = _mdn_expectations(mdn)
    request = request or with_header_ops(build_mdn(mdn), header_ops)
    must = must and not header_ops
    return await oracle.receive_mdn(request, facts, wrong_signer=stranger, must_report=must)


# -- the app -----------------------------------------------------------------------------------


def fuzz_app(tmp: Path) -> FastAPI:
    """inbound-svc's real app (routes, middleware, limits) without its lifespan: the receive
    use case is installed per case, on fresh fakes."""
    settings = InboundSettings(
        master_key=generate_master_key(),
        database_url=f"sqlite+aiosqlite:///{tmp / 'inbound.db'}",
        AS2BUS_INBOUND_MAX_BODY_BYTES=LIMITS.max_body_bytes,
        AS2BUS_INBOUND_MAX_HEADER_BYTES=LIMITS.max_header_bytes,
        AS2BUS_INBOUND_MAX_MDN_BYTES=LIMITS.max_mdn_bytes,
        AS2BUS_INBOUND_SPOOL_BYTES=LIMITS.spool_bytes,
        AS2BUS_INBOUND_BODY_TIMEOUT_SECONDS=LIMITS.body_timeout_seconds,
        AS2BUS_INBOUND_HEADER_TIMEOUT_SECONDS=0.5,
    )
    return create_app(settings)


def install(app: FastAPI) -> Sut:
    sut = oracle.fresh_sut()
    # Wiring.uninstall says nothing happens when nothing is installed, but Starlette's State
    # raises KeyError there (not the AttributeError it suppresses).
    with contextlib.suppress(KeyError):
        wiring.uninstall(app)
    wiring.install(app, Components(receiver=sut.receiver, mdn_receiver=sut.mdn_receiver))
    return sut


@dataclass(frozen=True)
class HttpCase:
    """A message or an MDN, its request's header fields changed, delivered as ``transport``
    says."""

    what: Message | Mdn
    header_ops: tuple[tuple[str, tuple[int, int]], ...] = ()
    transport: Transport = field(default_factory=Transport)

    def __str__(self) -> str:
        ops = " ".join(f"{op}{list(args)}" for op, args in self.header_ops)
        return f"{self.what} | {ops} | {self.transport}"

    def request(self) -> Request:
        built = build(self.what) if isinstance(self.what, Message) else build_mdn(self.what)
        return with_header_ops(built, self.header_ops)


def judge(case: HttpCase) -> oracle.Judge:
    what = case.what
    if isinstance(what, Mdn):
        facts, stranger, _ = _mdn_expectations(what)

        def as_mdn(
            sut: Sut, headers: Mapping[str, str], status: int, answer: Mapping[str, str],
            body: bytes,
        ) -> Outcome:  # fmt: skip
            if status == 200 and not sut.bus.of_type(MdnReceived):
                # Not recognised as an MDN any more: the message path answered it.
                return oracle.check_message(sut, headers, status, answer, body, "never", ())
            return oracle.check_mdn(sut, status, body, facts, wrong_signer=stranger)

        return as_mdn
    message = what
    header_changed = bool(case.header_ops)

    def as_message(
        sut: Sut, headers: Mapping[str, str], status: int, answer: Mapping[str, str],
        body: bytes,
    ) -> Outcome:  # fmt: skip
        if sut.bus.of_type(MdnReceived):
            check(False, "a message was reported as an MDN")
        return oracle.check_message(
            sut, headers, status, answer, body, message.expectation(), message.shape.payloads,
            must_deliver=must_deliver(message) and not header_changed,
        )  # fmt: skip

    return as_message


async def http_case(app: FastAPI, case: HttpCase, request: Request | None = None) -> Outcome:
    """Level (b): the real app through ASGI, the use case on fresh fakes."""
    sut = install(app)
    request = request or case.request()
    return await oracle.post_asgi(app, LIMITS, sut, request, case.transport, judge=judge(case))


# -- uvicorn on a socket -----------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """What uvicorn and the app log at ERROR: an exception that escaped to the server."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Server:
    app: FastAPI
    port: int
    errors: ErrorLog


@contextlib.contextmanager
def served(app: FastAPI) -> Iterator[Server]:
    """The app behind uvicorn with inbound-svc's protocol (header deadline, header size),
    in a thread of its own, on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="off",
        http=with_header_timeout(0.5),
        h11_max_incomplete_event_size=LIMITS.max_header_bytes,
    )
    server = uvicorn.Server(config)
    errors = ErrorLog()
    loggers = [logging.getLogger(n) for n in ("uvicorn.error", "as2bus", "uvicorn")]
    for logger in loggers:
        logger.addHandler(errors)
    thread = threading.Thread(target=server.run, name="fuzz-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield Server(app, port, errors)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for logger in loggers:
            logger.removeHandler(errors)


@dataclass(frozen=True)
class WireCase:
    """A request as bytes on the wire: its header block written out (folded lines,
    duplicated or lying Content-Length, chunked encoding, broken or not)."""

    what: Message | Mdn
    framing: str = "content-length"
    args: tuple[int, int] = (0, 0)

    def __str__(self) -> str:
        return f"{self.what} | wire {self.framing}{list(self.args)}"


FRAMINGS = (
    "content-length", "no-length", "length-less", "length-more", "length-twice",
    "length-and-chunked", "chunked", "chunked-bad-size", "chunked-no-end", "chunked-extension",
    "folded", "header-line-huge", "header-no-colon", "bare-lf", "pipelined",
)  # fmt: skip


def wire_bytes(case: WireCase, built: Request | None = None) -> tuple[bytes, bool]:
    """(the bytes a client writes, whether the body arrives whole as the request says)."""
    if built is None:
        built = build(case.what) if isinstance(case.what, Message) else build_mdn(case.what)
    body, framing, (a, b) = built.body, case.framing, case.args
    lines = [f"{k}: {v}".encode("latin-1") for k, v in built.headers]
    lines = [b"POST /as2 HTTP/1.1", b"Host: mycompany.example", *lines]
    whole = True
    if framing == "content-length":
        lines.append(b"Content-Length: %d" % len(body))
    elif framing == "no-length":
        whole = not body
    elif framing == "length-less":
        lines.append(b"Content-Length: %d" % max(len(body) - 1 - a % 64, 0))
        whole = False
    elif framing == "length-more":
        lines.append(b"Content-Length: %d" % (len(body) + 1 + a % 64))
        whole = False
    elif framing == "length-twice":
        lines += [b"Content-Length: %d" % len(body), b"Content-Length: %d" % (len(body) + 1)]
        whole = False
    elif framing == "length-and-chunked":
        lines += [b"Content-Length: %d" % len(body), b"Transfer-Encoding: chunked"]
        body = _chunked(body, 1 + a % 4096)
        whole = False
    elif framing.startswith("chunked"):
        lines.append(b"Transfer-Encoding: chunked")
        size = 1 + a % 4096
        if framing == "chunked":
            body = _chunked(body, size)
        elif framing == "chunked-bad-size":
            body = b"zz\r\n" + body + b"\r\n0\r\n\r\n"
            whole = False
        elif framing == "chunked-no-end":
            body = _chunked(body, size)[: -len(b"0\r\n\r\n")]
            whole = False
        else:
            body = (
                b"".join(
                    b"%x;name=value\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
                    for i in range(0, len(body), size)
                )
                + b"0\r\n\r\n"
            )
    elif framing == "folded":
        lines.append(b"Content-Length: %d" % len(body))
        i = 2 + a % (len(lines) - 2)
        lines.insert(i + 1, b"\t continued")
    elif framing == "header-line-huge":
        lines += [b"Content-Length: %d" % len(body), b"X-Huge: " + b"h" * (8000 + b * 400)]
        whole = False
    elif framing == "header-no-colon":
        lines += [b"Content-Length: %d" % len(body), b"this is not a header"]
        whole = False
    elif framing == "bare-lf":
        lines.append(b"Content-Length: %d" % len(body))
        return b"\n".join(lines) + b"\n\n" + body, True
    elif framing == "pipelined":
        lines.append(b"Content-Length: %d" % len(body))
        return b"\r\n".join(lines) + b"\r\n\r\n" + body + b"GARBAGE / HTTP/1.1\r\n\r\n", True
    return b"\r\n".join(lines) + b"\r\n\r\n" + body, whole


def _chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def wire_case(server: Server, case: WireCase, built: Request | None = None) -> Outcome:
    """The bytes to the server, its first answer read (the connection then closed): no 5xx,
    nothing logged at ERROR (an exception that reached the server), an answer within the
    deadlines unless the framing left the server waiting, and whatever the framing made of
    the body, a delivery the recipe allows (no stranger's message, ACME's documents
    unchanged)."""
    sut = install(server.app)
    logged = len(server.errors.records)
    data, whole = wire_bytes(case, built)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn:
        with contextlib.suppress(OSError):  # the server may answer and close before the end
            conn.sendall(data)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                piece = conn.recv(65536)
                if not piece:
                    break
                answer += piece
        except TimeoutError:
            raise Violation(f"no answer within 5 s ({time.monotonic() - started:.1f} s)") from None
        except ConnectionResetError:
            pass
    new = server.errors.records[logged:]
    check(not new, f"the server logged: {[r.getMessage()[:200] for r in new]}")
    if isinstance(case.what, Message) and sut.bus.of_type(MessageReceived):
        # Whatever the framing made of the body, a delivery is one the recipe allows.
        expectation, payloads = case.what.expectation(), case.what.shape.payloads
        check(expectation != "never", f"{case.framing}: delivered what must not be")
        if expectation == "same":
            event = sut.bus.of_type(MessageReceived)[0].data
            names = [event.document.name, *(a.document.name for a in event.attachments)]
            stored = tuple(sut.documents.objects[name] for name in names)
            check(stored == payloads, f"{case.framing}: delivered other documents")
    if not answer:
        check(not whole, "the connection closed without an answer")
        return Outcome("limit", 0, "closed")
    status = int(answer.split(b" ", 2)[1])
    check(status < 500, f"HTTP {status}: {answer[:300]!r}")
    return Outcome("wire", status, case.framing)
