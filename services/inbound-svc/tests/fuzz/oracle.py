"""What must hold whatever a partner POSTs, checked on what the receive use case
(``Receiver``, on the in-memory fakes) answered and did, called directly or through the real
inbound-svc app (``harness`` drives the levels).

For a message: no 5xx (the fakes never fail, so the documented 503 cannot happen), no
exception escaping, and either it was delivered (one MessageReceived, its documents stored as
the event says, at most the payload limit, the ledger row delivered, a processed MDN or a
200) or nothing was (no MessageReceived, no object stored, nothing claimed, no MDN queued)
and the sender was told why: a negative MDN (signed when asked for) or a 4xx whose body is a
short readable reason. Delivered is allowed only when the recipe says so
(``grammar.Message.expectation``), with the documents unchanged unless they were changed
under ACME's signature. For an MDN: a 200 with exactly one MdnReceived and the MDN kept, or a
4xx with nothing published or kept; a report that says its signature is valid carries the
facts ACME signed. Memory: a message's peak (tracemalloc) stays within a bound of the payload
limit and the body's size.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import re
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal

from as2bus import as2
from as2bus.contracts import MdnReceived, MessageReceived
from as2bus.inbound.mdn_receipt import MdnReceiver
from as2bus.inbound.replay_protection import ReplayProtection
from as2bus.inbound.service import Receiver

from ..fakes import (
    FakeBus,
    FakeDocumentStore,
    FakeLedger,
    FakeMdnQueue,
    FakePartyDirectory,
    FakeSeenSignatures,
)
from ..unit.receiving import STATION, WINDOW
from .grammar import LAX, MAX_PAYLOAD, Request, keys, partnerships

#: A reason longer than this is not one a person reads.
REASON_LIMIT = 4096
#: The most a message may cost in memory: the codec holds intermediate layers in memory files
#: (in-memory bodies), each bounded by the payload limit and about the body's size.
MEMORY_SLACK = 16 << 20


class Violation(AssertionError):
    """A property of the receive path did not hold."""


@dataclass
class Sut:
    """The receive use case on fresh fakes (one per case: what reached them is the case's)."""

    receiver: Receiver
    mdn_receiver: MdnReceiver
    ledger: FakeLedger
    documents: FakeDocumentStore
    mdns: FakeMdnQueue
    bus: FakeBus


def fresh_sut(*, max_payload_bytes: int = MAX_PAYLOAD) -> Sut:
    parties = FakePartyDirectory(*partnerships())
    ledger, documents, mdns, bus = FakeLedger(), FakeDocumentStore(), FakeMdnQueue(), FakeBus()
    replays = ReplayProtection(FakeSeenSignatures(), WINDOW)
    receiver = Receiver(
        parties, ledger, documents, mdns, bus, replays=replays, max_payload_bytes=max_payload_bytes
    )  # fmt: skip
    mdn_receiver = MdnReceiver(parties, documents, bus)
    return Sut(receiver, mdn_receiver, ledger, documents, mdns, bus)


@dataclass
class Outcome:
    """How a case ended, for the run's figures: ``kind`` is one of delivered, mdn-failed,
    refused (a 4xx), reported (an MDN reported), limit (413/408/400 of the HTTP layer)."""

    kind: str
    status: int
    reason: str = ""
    peak: int | None = None  # bytes, when measured
    extra: dict[str, Any] = field(default_factory=dict)


def check(condition: object, what: str) -> None:
    if not condition:
        raise Violation(what)


def readable(status: int, body: bytes, limit: int = REASON_LIMIT) -> str:
    """The reason of a 4xx: non-empty, UTF-8, printable, short."""
    check(400 <= status < 500, f"status {status} where a 4xx was due")
    limit = max(limit, REASON_LIMIT)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Violation(f"{status} with a reason that is not UTF-8: {body[:200]!r}") from None
    check(text.strip(), f"{status} without a reason")
    check(len(body) <= limit, f"{status} with a {len(body)}-byte reason: {text[:200]!r}")
    check(
        all(c.isprintable() or c in "\n\t" for c in text),
        f"{status} with unprintable characters in its reason: {text[:200]!r}",
    )
    return text.strip()


# -- messages ----------------------------------------------------------------------------------

Expectation = Literal["never", "same", "any"]


def check_message(
    sut: Sut,
    headers: Mapping[str, str],
    status: int,
    answer_headers: Mapping[str, str],
    body: bytes,
    expectation: Expectation,
    payloads: tuple[bytes, ...],
    *,
    must_deliver: bool = False,
) -> Outcome:
    """The properties of one message's answer and of what reached the fakes."""
    check(status < 500, f"HTTP {status}: {body[:300]!r}")
    received = sut.bus.of_type(MessageReceived)
    summary = as2.summarize_request(headers)
    if received:
        return _delivered(sut, summary, status, answer_headers, body, expectation, payloads)
    check(not must_deliver, f"a valid message was not delivered: {status} {body[:300]!r}")
    check(
        not sut.documents.objects, f"nothing delivered, yet stored: {list(sut.documents.objects)}"
    )
    check(not sut.ledger.rows, f"nothing delivered, yet claimed: {list(sut.ledger.rows)}")
    check(not sut.mdns.queued, "nothing delivered, yet an async MDN was queued")
    if status == 200:
        check(
            summary.mdn is not None and summary.mdn.mode == "sync",
            f"200 without delivering, for a message that asked for no sync MDN: {body[:200]!r}",
        )
        mdn = _our_mdn(answer_headers, body)
        check(mdn.disposition == "failed", f"nothing delivered, yet the MDN is {mdn.disposition}")
        check(mdn.modifier, "a negative MDN without a modifier")
        wanted = summary.mdn is not None and summary.mdn.signing is not None
        ours = summary.as2_to == STATION  # addressed to no station of ours: no key to sign
        if wanted and ours and summary.mdn is not None and summary.mdn.failure is None:
            check(mdn.signed and mdn.signature_valid, "a signed MDN was asked for, not given")
        return Outcome("mdn-failed", status, f"{mdn.modifier}")
    reason = readable(status, body)
    return Outcome("refused", status, reason.split(":")[0][:60])


def _delivered(
    sut: Sut,
    summary: as2.RequestSummary,
    status: int,
    answer_headers: Mapping[str, str],
    body: bytes,
    expectation: Expectation,
    payloads: tuple[bytes, ...],
) -> Outcome:
    received = sut.bus.of_type(MessageReceived)
    check(len(received) == 1, f"{len(received)} MessageReceived for one message")
    data = received[0].data
    if data.partner != LAX:  # LAX requires nothing: whatever it sends is its document
        check(expectation != "never", f"delivered what must not be: {data.message_id}")
    refs = [data.document, *(a.document for a in data.attachments)]
    stored = []
    for ref in refs:
        content = sut.documents.objects.get(ref.name)
        check(content is not None, f"the event names {ref.name}, which was not stored")
        assert content is not None
        check(
            (len(content), hashlib.sha256(content).hexdigest()) == (ref.size, ref.sha256),
            f"{ref.name} is not what the event says",
        )
        stored.append(content)
    check(sum(map(len, stored)) <= MAX_PAYLOAD, f"{sum(map(len, stored))} bytes delivered")
    if expectation == "same" and data.partner != LAX:
        check(
            tuple(stored) == payloads,
            f"delivered other documents than ACME signed: {[s[:60] for s in stored]}",
        )
    rows = list(sut.ledger.rows.values())
    check(len(rows) == 1 and rows[0].status == "delivered", "the ledger does not say delivered")
    check(status == 200, f"delivered, answered {status}")
    if summary.mdn is None:
        check(not body, "delivered without an MDN asked for, yet answered with a body")
    elif summary.mdn.mode == "async":
        check(not body, "an async MDN in the response")
        check(len(sut.mdns.queued) == 1, f"{len(sut.mdns.queued)} async MDNs queued for one")
    else:
        mdn = _our_mdn(answer_headers, body)
        expected = "failed" if summary.mdn.failure else "processed"
        check(mdn.disposition == expected, f"delivered, yet the MDN is {mdn.disposition}")
    return Outcome("delivered", status, "", extra={"documents": len(stored)})


#: The share of our own MDNs read in full, signature verified (``as2.parse_mdn``, 3 ms); the
#: others are read for their disposition only. The big run lowers it: the MDN builder is not
#: what it fuzzes, and a tenth of a hundred thousand is plenty.
VERIFY_OUR_MDNS = 1.0
_DISPOSITION = re.compile(rb"\r\nDisposition: [^;\r\n]*;\s*([a-z/]+)(?::\s*([^\r\n]*))?", re.I)


@dataclass(frozen=True)
class OurMdn:
    disposition: str
    modifier: str | None
    signed: bool
    signature_valid: bool | None


def _our_mdn(headers: Mapping[str, str], body: bytes) -> OurMdn:
    if random.random() < VERIFY_OUR_MDNS:
        try:
            mdn = as2.parse_mdn(headers, body, verify_certs=[keys("myco").cert_pem])
        except as2.MdnError as err:
            raise Violation(f"our own MDN does not read: {err}") from None
        return OurMdn(mdn.disposition, mdn.modifier, mdn.signed, mdn.signature_valid)
    found = _DISPOSITION.search(body)
    check(found, f"our own MDN has no Disposition: {body[:300]!r}")
    assert found is not None
    kind = found.group(1).decode().lower()
    disposition = kind if kind in ("processed", "processed/warning") else "failed"
    modifier = found.group(2).decode("utf-8", "replace").strip() if found.group(2) else None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    signed = content_type.startswith("multipart/signed")
    return OurMdn(disposition, modifier or kind, signed, True if signed else None)


async def receive_message(
    request: Request,
    expectation: Expectation,
    payloads: tuple[bytes, ...],
    *,
    spooled: bool = False,
    measure: bool = False,
    must_deliver: bool = False,
    replay_of: Request | None = None,
    max_payload_bytes: int = MAX_PAYLOAD,
) -> Outcome:
    """Level (a): ``Receiver.receive`` with the body in memory or in a file (the spooled
    parser), on fresh fakes; after ``replay_of`` (the message unbroken, with the same
    Message-ID) when given. The memory bound does not grow with ``max_payload_bytes``: a
    bomb may inflate to the limit, but not in memory."""
    sut = fresh_sut(max_payload_bytes=max_payload_bytes)
    if replay_of is not None:
        return await _replay(sut, replay_of, request, spooled)
    headers = request.mapping()
    body: bytes | BinaryIO = request.body
    if spooled:
        body = io.BytesIO(request.body)
    peak = None
    if measure:
        tracemalloc.start()
    try:
        answer = await sut.receiver.receive(headers, body)
    finally:
        if measure:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    if peak is not None:
        bound = 3 * MAX_PAYLOAD + 4 * len(request.body) + MEMORY_SLACK
        check(peak <= bound, f"{peak} bytes at the peak, over {bound}")
    outcome = check_message(
        sut,
        headers,
        answer.status_code,
        answer.headers,
        answer.body,
        expectation,
        payloads,
        must_deliver=must_deliver,
    )
    outcome.peak = peak
    return outcome


async def _replay(sut: Sut, first: Request, again: Request, spooled: bool) -> Outcome:
    """A message delivered, then sent again broken under the same Message-ID (a replay, or
    a resend that was changed on the way): what was delivered stays as it was, the second
    is a duplicate, refused, or (its Message-ID changed too) a message of its own."""
    answer = await sut.receiver.receive(first.mapping(), first.body)
    check(sut.bus.of_type(MessageReceived), f"the original was not delivered: {answer}")
    kept = dict(sut.documents.objects)
    (original,) = sut.bus.of_type(MessageReceived)
    body: bytes | BinaryIO = io.BytesIO(again.body) if spooled else again.body
    answer = await sut.receiver.receive(again.mapping(), body)
    check(answer.status_code < 500, f"HTTP {answer.status_code}: {answer.body[:300]!r}")
    changed = [name for name, data in kept.items() if sut.documents.objects.get(name) != data]
    check(not changed, f"a resend changed what was delivered: {changed}")
    received = sut.bus.of_type(MessageReceived)
    check(len(received) <= 2, f"{len(received)} MessageReceived for two sendings")
    if len(received) == 2:
        ids = {r.data.message_id for r in received}
        check(len(ids) == 2, f"{original.data.message_id} delivered twice")
    if 400 <= answer.status_code < 500:
        readable(answer.status_code, answer.body)
    return Outcome("replay", answer.status_code, f"{len(received)} delivered")


# -- MDNs --------------------------------------------------------------------------------------


def check_mdn(
    sut: Sut,
    status: int,
    body: bytes,
    facts: tuple[str, str, str | None] | None,
    *,
    wrong_signer: bool,
    must_report: bool = False,
) -> Outcome:
    """``facts``: what ACME signed (Original-Message-ID, disposition, MIC), None when the
    mutation was made under its signature (anything may then be reported as signed)."""
    check(status < 500, f"HTTP {status}: {body[:300]!r}")
    reported = sut.bus.of_type(MdnReceived)
    if status != 200:
        check(not must_report, f"a valid MDN was refused: {status} {body[:300]!r}")
        check(not reported, f"{status}, yet the MDN was reported")
        check(not sut.documents.objects, f"{status}, yet kept: {list(sut.documents.objects)}")
        reason = readable(status, body)
        return Outcome("refused", status, reason.split(":")[0][:60])
    check(len(reported) == 1, f"200 with {len(reported)} MdnReceived")
    check(len(sut.documents.objects) == 1, "a reported MDN was not kept as it came")
    report = reported[0].data
    if report.signature_valid:
        check(not wrong_signer, "an MDN signed by a stranger was reported as validly signed")
        if facts is not None:
            got = (report.original_message_id, report.disposition, report.mic)
            check(got == facts, f"a validly signed report says {got}, ACME signed {facts}")
    if must_report and not wrong_signer:
        check(report.signature_valid is not False, "ACME's signature was not recognised")
    check(report.original_message_id.strip(), "a report without its Original-Message-ID")
    check(not sut.bus.of_type(MessageReceived), "an MDN delivered as a message")
    kind = "reported-" + {True: "valid", False: "invalid", None: "unsigned"}[report.signature_valid]
    return Outcome(kind, status)


async def receive_mdn(
    request: Request,
    facts: tuple[str, str, str | None] | None,
    *,
    wrong_signer: bool,
    must_report: bool = False,
) -> Outcome:
    """Level (a): ``MdnReceiver.receive``, as the endpoint calls it for an MDN."""
    sut = fresh_sut()
    answer = await sut.mdn_receiver.receive(request.mapping(), request.body)
    return check_mdn(
        sut, answer.status_code, answer.body, facts, wrong_signer=wrong_signer,
        must_report=must_report,
    )  # fmt: skip


# -- the HTTP endpoint (ASGI) ------------------------------------------------------------------


@dataclass(frozen=True)
class Transport:
    """How the HTTP layer delivers the body: in ``chunks`` (sizes, cycled), with a
    Content-Length that is right, missing or a lie, ending early (the client gone) or
    stalling (the rest never comes)."""

    chunks: tuple[int, ...] = (65536,)
    length: Literal["right", "none", "less", "more", "garbage", "huge", "negative", "twice"] = (
        "right"
    )
    disconnect_after: int | None = None  # chunks
    stall_after: int | None = None  # chunks
    empty_chunks: bool = False

    def __str__(self) -> str:
        parts = [f"chunks={list(self.chunks)}", f"length={self.length}"]
        if self.disconnect_after is not None:
            parts.append(f"disconnect@{self.disconnect_after}")
        if self.stall_after is not None:
            parts.append(f"stall@{self.stall_after}")
        if self.empty_chunks:
            parts.append("empty-chunks")
        return " ".join(parts)

    def content_length(self, size: int) -> list[bytes]:
        return {
            "right": [str(size).encode()],
            "none": [],
            "less": [str(max(size - 7, 0)).encode()],
            "more": [str(size + 7).encode()],
            "garbage": [b"12abc"],
            "huge": [b"99999999999999999999"],
            "negative": [b"-1"],
            "twice": [str(size).encode(), str(size + 1).encode()],
        }[self.length]


class AsgiClient:
    """One request to an ASGI app, driven by hand (as a server would): the body in pieces
    as ``Transport`` says; what the app sent back."""

    def __init__(self, body: bytes, transport: Transport) -> None:
        self.pieces = _pieces(body, transport)
        self.transport = transport
        self.sent: list[dict[str, Any]] = []
        self.delivered = 0
        self.given = 0

    async def receive(self) -> dict[str, Any]:
        t = self.transport
        if t.stall_after is not None and self.given >= t.stall_after:
            await asyncio.sleep(3600)  # the app's body timeout ends this
        if t.disconnect_after is not None and self.given >= t.disconnect_after:
            return {"type": "http.disconnect"}
        if self.given >= len(self.pieces):  # asked again after the end: the client is gone
            return {"type": "http.disconnect"}
        piece = self.pieces[self.given]
        self.given += 1
        self.delivered += len(piece)
        return {"type": "http.request", "body": piece, "more_body": self.given < len(self.pieces)}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        check(len(starts) == 1, f"{len(starts)} response starts")
        bodies = [m for m in self.sent if m["type"] == "http.response.body"]
        check(bodies and not bodies[-1].get("more_body", False), "the response did not end")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in starts[0]["headers"]}
        return starts[0]["status"], headers, b"".join(m.get("body", b"") for m in bodies)


def _pieces(body: bytes, transport: Transport) -> list[bytes]:
    pieces: list[bytes] = []
    at, i = 0, 0
    sizes = [max(size, 1) for size in transport.chunks] or [65536]
    while at < len(body):
        size = sizes[i % len(sizes)]
        pieces.append(body[at : at + size])
        at += size
        i += 1
        if transport.empty_chunks:
            pieces.append(b"")
    return pieces or [b""]


def asgi_scope(request: Request, transport: Transport, path: str = "/as2") -> dict[str, Any]:
    headers = [(k, v) for k, v in request.raw_headers() if k != b"content-length"]
    headers += [(b"content-length", v) for v in transport.content_length(len(request.body))]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }  # fmt: skip


#: Judges an answer of the app by what the fakes saw: (fakes, the request's header fields as
#: the use case got them, status, answer's header fields, answer's body) → Outcome.
Judge = Callable[[Sut, Mapping[str, str], int, Mapping[str, str], bytes], Outcome]


@dataclass(frozen=True)
class HttpLimits:
    max_body_bytes: int
    max_header_bytes: int
    max_mdn_bytes: int
    spool_bytes: int
    body_timeout_seconds: float


async def post_asgi(
    app: Callable[..., Any],
    limits: HttpLimits,
    sut: Sut,
    request: Request,
    transport: Transport,
    *,
    judge: Judge,
) -> Outcome:
    """Level (b): the request through the real app; the HTTP layer's own answers (413, 408,
    400 for headers) checked against the limits, anything else by ``judge`` (the message or
    MDN oracle) on what the fakes saw."""
    client = AsgiClient(request.body, transport)
    await app(asgi_scope(request, transport), client.receive, client.send)
    status, answer_headers, body = client.answer()
    check(status < 500, f"HTTP {status}: {body[:300]!r}")
    header_bytes = sum(len(k) + len(v) for k, v in asgi_scope(request, transport)["headers"])
    declared = transport.content_length(len(request.body))
    # Whole: every piece given, the last one saying so, before any disconnect or stall.
    complete = client.given == len(client.pieces) and client.delivered == len(request.body)
    nothing = not sut.bus.of_type(MessageReceived) and not sut.bus.of_type(MdnReceived)
    if status == 413:
        over = len(request.body) > min(limits.max_body_bytes, limits.max_mdn_bytes) or any(
            d.isdigit() and int(d) > limits.max_mdn_bytes for d in declared
        )
        check(over, f"413 for a body of {len(request.body)} bytes")
        check(nothing and not sut.documents.objects, "413, yet something was delivered")
        return Outcome("limit", status, "413")
    if status == 408:
        check(not complete, "408 for a body that came whole")
        check(nothing and not sut.documents.objects, "408, yet something was delivered")
        return Outcome("limit", status, "408")
    if header_bytes > limits.max_header_bytes:
        check(status == 400, f"{status} for {header_bytes} bytes of headers")
        return Outcome("limit", status, "headers")
    if not complete:
        # The client went away mid-body: no answer reaches it, but nothing may be delivered
        # from a part of a body, and nothing may escape.
        check(nothing and not sut.documents.objects, "a part of a body was delivered")
        return Outcome("limit", status, "disconnected")
    return judge(sut, request.mapping(), status, answer_headers, body)
