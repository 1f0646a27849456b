"""OpenTelemetry tracing: off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set.

When on, each process exports its spans over OTLP/HTTP (protobuf), the W3C trace context
travels in NATS headers (faststream's ``NatsTelemetryMiddleware`` on the broker), in HTTP
requests to partners (httpx instrumented) and from them (FastAPI's own server spans, which
read ``traceparent``: ``fastapi_telemetry``), so one send request is one trace across the
services.

Two hops go through a database rather than a message, and carry no context by themselves: a
send request is stored and sent later by the send loop, and events wait in the outbox for the
relay. The context of the moment they were stored is kept in this process's memory
(``remember``), keyed by the event id and the AS2 Message-ID, and taken up again where they
continue (``resumed``). Another replica or a restart in between starts a new trace there. The
same memory brings an async MDN, which arrives in a trace of its own, back into its send's
trace where outbound-svc settles it (``as2_span``, linked to the MDN's trace).

Spans carry the AS2 Message-ID, partner and station (``as2_span``, ``tag_span``): never a
payload, a header value beyond those, or a secret. With tracing off every function here is a
flag test, and nothing of the SDK is imported.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from as2bus.shared import logs
from as2bus.shared.logs import about_message, note_message

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
#: Routes that are not part of an exchange: no span for them.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
REMEMBERED_MAX = 10_000
#: The NATS headers that carry the trace context (W3C Trace Context), on every message a
#: tracing process publishes and on any other publisher's that traces (docs/asyncapi.json
#: documents them from here, as optional).
TRACE_HEADERS: dict[str, str] = {
    "traceparent": "W3C trace context (00-<trace id>-<parent span id>-<flags>), present when "
    "the publisher traces (OTEL_EXPORTER_OTLP_ENDPOINT set): the consumer's spans continue "
    "that trace. A send request may carry one of your own to have its exchange in your trace",
    "tracestate": "W3C vendor-specific trace state that goes with traceparent, when there is any",
}

_state: dict[str, Any] = {"enabled": False, "provider": None}
_remembered: OrderedDict[str, trace.SpanContext] = OrderedDict()
_propagator = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("as2bus")


def _current_ids() -> dict[str, str]:
    """The current trace and span ids, as log lines carry them (W3C hex)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def tracing_enabled() -> bool:
    return bool(_state["enabled"])


def configure_tracing(service_name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Install the OTLP exporter for this process when an endpoint is configured; True if so.

    Called once per process, before the app (and its broker and HTTP clients) is built."""
    env = os.environ if environ is None else environ
    if not any(env.get(name) for name in ENDPOINT_VARIABLES) or tracing_enabled():
        return tracing_enabled()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _state.update(enabled=True, provider=provider)
    logs.trace_ids = _current_ids  # JSON log lines carry the trace from now on
    return True


def broker_middlewares() -> Sequence[Any]:
    """faststream's OpenTelemetry middleware when tracing is on: it starts a span per publish
    and per consumed message and carries ``traceparent`` in the NATS headers."""
    if not tracing_enabled():
        return ()
    from faststream.nats.opentelemetry import NatsTelemetryMiddleware

    return (NatsTelemetryMiddleware(),)


def _not_traced(scope: MutableMapping[str, Any]) -> bool:
    return scope.get("path") in UNTRACED_PATHS


def fastapi_telemetry() -> TelemetryConfig:
    """FastAPI's own OpenTelemetry settings for every app: a server span per request (it
    continues the caller's ``traceparent``; active only once a tracer provider is set),
    none for probes and metrics, no spans per dependency."""
    return {"exclude": _not_traced, "operation_spans": False}


def _as2_attributes(
    message_id: str | None, partner: str | None, station: str | None
) -> dict[str, str]:
    named = {"as2.message_id": message_id, "as2.partner": partner, "as2.station": station}
    return {key: value for key, value in named.items() if value}


def tag_span(
    *, message_id: str | None = None, partner: str | None = None, station: str | None = None
) -> None:
    """Name the AS2 message on the current span (the HTTP request being served), and on the
    request's log lines from here on."""
    note_message(message_id, partner=partner, station=station)
    if not tracing_enabled():
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(_as2_attributes(message_id, partner, station))


@contextmanager
def as2_span(
    name: str, *, message_id: str, partner: str | None = None, station: str | None = None
) -> Iterator[None]:
    """A span for work on one AS2 message, continuing the context remembered for its
    Message-ID (the send request that queued it) when there is one; the block's log lines
    name the message.

    Begun inside another trace (the handling of an async MDN, which came in a trace of its
    own), the span still continues the message's, and links to the one it was begun in."""
    if not tracing_enabled():
        with about_message(message_id, partner=partner, station=station):
            yield
        return
    outer = trace.get_current_span().get_span_context()
    with about_message(message_id, partner=partner, station=station), resumed(message_id):
        parent = trace.get_current_span().get_span_context()
        other_trace = outer.is_valid and outer.trace_id != parent.trace_id
        with _tracer.start_as_current_span(
            name,
            attributes=_as2_attributes(message_id, partner, station),
            links=[trace.Link(outer)] if other_trace else None,
        ):
            yield


def remember(*keys: str | None) -> None:
    """Keep the current span's identity (ids and flags: a few bytes, not the span) under each
    key not already kept (the first context a Message-ID was seen in is the send request's)."""
    if not tracing_enabled():
        return
    current = trace.get_current_span().get_span_context()
    if not current.is_valid:
        return
    for key in keys:
        if key and key not in _remembered:
            _remembered[key] = current
            if len(_remembered) > REMEMBERED_MAX:
                _remembered.popitem(last=False)


@contextmanager
def resumed(key: str, *, forget: bool = False, or_else: str | None = None) -> Iterator[None]:
    """Run the block in the context remembered under ``key``, else (outside any span) under
    ``or_else``, else as it is. ``forget``: ``key`` is used once (an outbox event's id)."""
    if not tracing_enabled():
        yield
        return
    kept = _remembered.pop(key, None) if forget else _remembered.get(key)
    if kept is None and or_else and not trace.get_current_span().get_span_context().is_valid:
        kept = _remembered.get(or_else)
    if kept is None:
        yield
        return
    token = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(kept)))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def consumer_spans(messages: Sequence[tuple[Mapping[str, str] | None, str]]) -> Iterator[None]:
    """One consumer span per ``(headers, correlation_id)`` of a message that carries a
    ``traceparent``, continuing it, for the block handling them as a batch (for a consumer
    that reads NATS without faststream: tracklog-svc's projection). The correlation id is the
    AS2 Message-ID for message and MDN events (contracts/envelope.py)."""
    if not tracing_enabled():
        yield
        return
    spans = [
        _tracer.start_span(
            "tracklog-svc project",
            context=_propagator.extract(dict(headers or {})),
            kind=trace.SpanKind.CONSUMER,
            attributes={"as2.correlation_id": correlation_id},
        )
        for headers, correlation_id in messages
        if headers and "traceparent" in headers
    ]
    try:
        yield
    finally:
        for span in spans:
            span.end()
