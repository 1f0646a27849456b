"""One AS2 exchange is one trace: the test publishes a send request with a ``traceparent`` of
its own, and outbound-svc, inbound-svc (the partner, on loopback) and tracklog-svc, real
processes exporting over OTLP/HTTP to a receiver the test runs, report spans that all belong
to that trace, form one tree under the test's span, and name the message without carrying the
document or a secret. An async MDN arrives in a trace of its own; outbound-svc settles it in the
send's trace, linked to the MDN's."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nats
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from as2bus.contracts import SEND_SUBJECT, SendRequest
from as2bus.contracts.subjects import COMMANDS_STREAM
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import events_of, until

from .conftest import TOKEN, start, start_inbound, start_outbound, stop, tracked
from .test_outbound_loopback import loopback

DELIVERED = "as2.evt.message.outbound.delivered "  # + create, publish (faststream's spans)
DOCUMENT = b"ISA*00*TRACE-ME-NOT*00*          *ZZ*A              *ZZ*B~\r\n" * 20


class Span:
    def __init__(self, service: str, raw: Any) -> None:
        self.service = service
        self.name: str = raw.name
        self.trace_id = raw.trace_id.hex()
        self.span_id = raw.span_id.hex()
        self.parent_id = raw.parent_span_id.hex()
        self.attributes = {a.key: _value(a.value) for a in raw.attributes}
        self.links = [(link.trace_id.hex(), link.span_id.hex()) for link in raw.links]

    def __repr__(self) -> str:
        return f"{self.service}: {self.name} {self.attributes}"


def _value(value: Any) -> str:
    kind = value.WhichOneof("value")
    return str(getattr(value, kind)) if kind else ""


class Receiver:
    """An OTLP/HTTP trace receiver on loopback: ``POST /v1/traces`` in protobuf."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    service = next(
                        (
                            a.value.string_value
                            for a in resource_spans.resource.attributes
                            if a.key == "service.name"
                        ),
                        "?",
                    )
                    for scope in resource_spans.scope_spans:
                        receiver.spans.extend(Span(service, s) for s in scope.spans)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    otlp = Receiver()
    yield otlp
    otlp.server.shutdown()
    otlp.server.server_close()


@dataclass
class Gateway:
    inbound: ServiceProcess
    outbound: ServiceProcess
    tracklog: ServiceProcess
    as2_url: str

    def stop(self) -> None:
        for proc in (self.tracklog, self.outbound, self.inbound):
            stop(proc)


def traced_gateway(nats_url: str, master_key: str, tmp_path: Path, receiver: Receiver) -> Gateway:
    """outbound-svc, inbound-svc (the partner, on loopback) and tracklog-svc, each exporting
    its spans to ``receiver``."""
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        # JSON lines at the most talkative level: what a log could leak, it leaks here.
        "AS2BUS_LOG_JSON": "true",
        "AS2BUS_LOG_LEVEL": "DEBUG",
    }
    inbound = start_inbound(nats_url, master_key, tmp_path, **otel)
    as2_url = f"{inbound.base_url}/as2"
    outbound = start_outbound(
        nats_url, master_key, tmp_path, AS2BUS_OUTBOUND_ASYNC_MDN_URL=as2_url, **otel
    )
    tracklog = start("as2bus.tracklog", nats_url, tmp_path / "tl.db", master_key, tmp_path, **otel)
    return Gateway(inbound, outbound, tracklog, as2_url)


async def send_in_trace(nats_url: str, request_id: str, traceparent: str) -> str:
    """Publish a send request carrying ``traceparent``; its Message-ID, once delivered."""
    request = SendRequest(
        request_id=request_id,
        station="A",
        partner="B",
        filename="po.x12",
        inline_base64=base64.b64encode(DOCUMENT).decode(),
    )
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.publish(
            SEND_SUBJECT,
            request.model_dump_json().encode(),
            stream=COMMANDS_STREAM,
            headers={"Nats-Msg-Id": request.request_id, "traceparent": traceparent},
        )
        (delivered,) = [e["data"] for e in await events_of(js, "MessageDelivered")]
    finally:
        await nc.close()
    return str(delivered["message_id"])


async def test_one_exchange_is_one_connected_trace(
    nats_url: str,
    master_key: str,
    tmp_path: Path,
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    receiver: Receiver,
) -> None:
    gateway = traced_gateway(nats_url, master_key, tmp_path, receiver)
    tracklog, outbound, inbound = gateway.tracklog, gateway.outbound, gateway.inbound
    try:
        await loopback(config_svc, cert_svc, gateway.as2_url, "sync")
        trace_id, root = secrets.token_hex(16), secrets.token_hex(8)
        message_id = await send_in_trace(nats_url, "trace-1", f"00-{trace_id}-{root}-01")
        await tracked(tracklog, 1, direction="inbound", status="mdn-sent")

        def ours() -> list[Span]:
            return [s for s in receiver.spans if s.trace_id == trace_id]

        async def all_three_reported() -> list[Span]:
            spans = ours()
            assert {s.service for s in spans} >= {"outbound-svc", "inbound-svc", "tracklog-svc"}
            projected = [s for s in spans if s.service == "tracklog-svc"]
            assert {s.attributes.get("as2.correlation_id") for s in projected} == {message_id}
            assert len(projected) >= 6, projected  # queued, started, sent, received, ...
            return spans

        spans = await until(all_three_reported, what="the services' spans", timeout=20)
    finally:
        gateway.stop()
    spans = ours()  # the last batches, flushed at exit

    # One tree under the test's span: every parent is the test's span or one of the trace's.
    ids = {s.span_id for s in spans} | {root}
    assert [s for s in spans if s.parent_id not in ids] == []
    assert [s.name for s in spans if s.parent_id == root] == ["as2.cmd.send process"]
    # ... crossing from process to process: over HTTP, and over the bus.
    service_of = {s.span_id: s.service for s in spans}
    crossings = {(service_of.get(s.parent_id), s.service) for s in spans}
    assert {
        ("outbound-svc", "inbound-svc"),
        ("outbound-svc", "tracklog-svc"),
        ("inbound-svc", "tracklog-svc"),
    } <= crossings
    # The spans that name a message name this one, and none is outside the trace.
    named = [s for s in receiver.spans if "as2.message_id" in s.attributes]
    assert {s.attributes["as2.message_id"] for s in named} == {message_id}
    assert {s.trace_id for s in named} == {trace_id}
    send = [s for s in spans if s.name == "outbound-svc send"]
    assert [s.attributes for s in send] == [
        {"as2.message_id": message_id, "as2.partner": "B", "as2.station": "A"}
    ]
    posted = [s for s in spans if s.service == "inbound-svc" and "as2.partner" in s.attributes]
    assert posted
    assert {(s.attributes["as2.partner"], s.attributes["as2.station"]) for s in posted} == {
        ("A", "B")
    }
    # Neither the document nor a secret in any attribute of any span, or in any log line.
    values = [v for s in receiver.spans for v in (*s.attributes.values(), s.name)]
    logs = {proc.module: proc.log() for proc in (tracklog, outbound, inbound)}
    secrets_ = ("TRACE-ME-NOT", base64.b64encode(DOCUMENT).decode()[:40], TOKEN, master_key)
    for secret in (*secrets_, "PRIVATE KEY"):
        assert not [v for v in values if secret in v], secret
        assert not [m for m, text in logs.items() if secret in text], secret
    # The log lines are JSON, and those of the send and of the receipt name the message and
    # its trace (the lines of a process's start and of its library set-up may name neither).
    lines = {m: [json.loads(x) for x in text.splitlines() if x.strip()] for m, text in logs.items()}
    for module in ("as2bus.outbound", "as2bus.inbound"):
        about = [line for line in lines[module] if line.get("message_id") == message_id]
        assert about, f"no line of {module} names {message_id}"
        assert {line.get("trace_id") for line in about} == {trace_id}, module


async def test_an_async_mdn_is_settled_in_the_trace_of_its_send(
    nats_url: str,
    master_key: str,
    tmp_path: Path,
    config_svc: ServiceProcess,
    cert_svc: ServiceProcess,
    receiver: Receiver,
) -> None:
    """The partner POSTs its async MDN later, in a trace of its own (inbound-svc's delivery
    loop, on loopback); outbound-svc, which sent the message, settles it in the send's trace
    and links the MDN's."""
    gateway = traced_gateway(nats_url, master_key, tmp_path, receiver)
    try:
        await loopback(config_svc, cert_svc, gateway.as2_url, "async")
        trace_id, root = secrets.token_hex(16), secrets.token_hex(8)
        message_id = await send_in_trace(nats_url, "trace-async", f"00-{trace_id}-{root}-01")

        async def settled() -> Span:
            (settle,) = [s for s in receiver.spans if s.name == "outbound-svc settle"]
            ours = [s for s in receiver.spans if s.trace_id == trace_id]
            delivered = {s.span_id for s in ours if s.name.startswith(DELIVERED)}
            # the settle's outcome, MessageDelivered, projected by tracklog-svc in the trace
            assert [s for s in ours if s.service == "tracklog-svc" and s.parent_id in delivered]
            return settle

        settle = await until(settled, what="the settle span", timeout=30)
    finally:
        gateway.stop()
    spans = [s for s in receiver.spans if s.trace_id == trace_id]

    assert settle.service == "outbound-svc"
    assert settle.attributes == {
        "as2.message_id": message_id,
        "as2.partner": "B",
        "as2.station": "A",
    }
    # In the send's trace, under the span of the send request that queued the message ...
    assert settle.trace_id == trace_id
    (parent,) = [s for s in spans if s.span_id == settle.parent_id]
    assert (parent.name, parent.parent_id) == ("as2.cmd.send process", root)
    # ... and linked to the MDN's own trace, where inbound-svc received it and told the bus.
    ((mdn_trace, _),) = settle.links
    assert mdn_trace != trace_id
    told = [s for s in receiver.spans if s.trace_id == mdn_trace and s.service == "inbound-svc"]
    assert "as2.evt.mdn.inbound.received publish" in {s.name for s in told}
    # What settling published (MessageDelivered) continues the send's trace, from the settle.
    delivered = [s for s in spans if s.name == f"{DELIVERED}publish"]
    ids = {s.span_id for s in spans} | {root}
    assert delivered
    assert [s for s in spans if s.parent_id not in ids] == []
    assert _ancestors(delivered[0], spans) >= {settle.span_id}


def _ancestors(span: Span, spans: list[Span]) -> set[str]:
    by_id = {s.span_id: s for s in spans}
    found: set[str] = set()
    while span.parent_id in by_id and span.parent_id not in found:
        found.add(span.parent_id)
        span = by_id[span.parent_id]
    return found
