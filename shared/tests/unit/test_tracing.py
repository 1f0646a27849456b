"""Tracing is off unless an OTLP endpoint is configured: then nothing is installed, and every
helper the services call is a pass-through."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from as2bus.shared import tracing
from as2bus.shared.bus.connection import new_broker
from as2bus.shared.bus.log_context import MessageLogContext


def test_without_an_endpoint_nothing_is_configured() -> None:
    assert tracing.configure_tracing("outbound-svc", environ={}) is False
    assert not tracing.tracing_enabled()
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # the API's no-op
    assert tracing.broker_middlewares() == ()
    # the log context's middleware only (shared/bus/log_context.py)
    assert list(new_broker("nats://127.0.0.1:4222", name="t").middlewares) == [MessageLogContext]


def test_without_an_endpoint_the_helpers_pass_through() -> None:
    with tracing.as2_span("send", message_id="<m@a>", partner="B", station="A"):
        assert not trace.get_current_span().get_span_context().is_valid
    tracing.remember("<m@a>")
    assert tracing._remembered == {}
    with tracing.resumed("<m@a>"), tracing.consumer_spans([({"traceparent": "x"}, "c")]):
        assert not trace.get_current_span().is_recording()
    tracing.tag_span(message_id="<m@a>")


PROBE = """
import json
import logging
from opentelemetry import trace
from as2bus.shared import tracing
from as2bus.shared.bus.connection import new_broker
from as2bus.shared.bus.log_context import MessageLogContext
from as2bus.shared.logs import configure_logging
configure_logging("probe-svc", "INFO", json_lines=True)
enabled = tracing.configure_tracing("probe-svc")
provider = trace.get_tracer_provider()
with tracing.as2_span("send", message_id="<m@a>", partner="B", station="A"):
    span = trace.get_current_span()
    attributes = dict(span.attributes)
    ids = (f"{span.get_span_context().trace_id:032x}", f"{span.get_span_context().span_id:016x}")
    tracing.remember("<m@a>")
    logging.getLogger("as2bus.probe").info("posting")
def hexed(context):
    return [f"{context.trace_id:032x}", f"{context.span_id:016x}"]
with trace.get_tracer("probe").start_as_current_span("mdn received") as mdn:
    with tracing.as2_span("settle", message_id="<m@a>"):  # the send's, linked to the MDN's
        settle = trace.get_current_span()
    with tracing.as2_span("settle", message_id="<other@a>"):  # nothing kept: the MDN's
        other = trace.get_current_span()
spans = {
    name: {
        "ids": hexed(span.get_span_context()),
        "parent": hexed(span.parent) if span.parent else None,
        "links": [hexed(link.context) for link in span.links],
    }
    for name, span in (("mdn", mdn), ("settle", settle), ("other", other))
}
print(json.dumps({
    "enabled": enabled,
    "provider": type(provider).__name__,
    "service": provider.resource.attributes["service.name"],
    "middlewares": [
        getattr(m, "__name__", type(m).__name__)
        for m in new_broker("nats://x:1", name="p").middlewares
    ],
    "attributes": attributes,
    "remembered": list(tracing._remembered),
    "ids": ids,
    "spans": spans,
}))
"""


def test_with_an_endpoint_each_process_exports_and_names_its_spans() -> None:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "0.2"  # nothing listens there: give up at exit quickly
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen["enabled"] is True
    assert (seen["provider"], seen["service"]) == ("TracerProvider", "probe-svc")
    assert seen["middlewares"] == ["MessageLogContext", "NatsTelemetryMiddleware"]
    assert seen["attributes"] == {
        "as2.message_id": "<m@a>",
        "as2.partner": "B",
        "as2.station": "A",
    }
    assert seen["remembered"] == ["<m@a>"]
    # Begun in another trace, a message's span continues the message's and links the other.
    trace_id, span_id = seen["ids"]
    mdn, settle, other = (seen["spans"][name] for name in ("mdn", "settle", "other"))
    assert settle["parent"] == [trace_id, span_id]
    assert settle["ids"][0] == trace_id
    assert settle["links"] == [mdn["ids"]]
    assert (other["parent"], other["links"]) == (mdn["ids"], [])
    # The JSON log line made in the span names the message and the span's trace.
    (line,) = [json.loads(x) for x in out.stderr.splitlines() if '"posting"' in x]
    assert (line["message_id"], line["partner"], line["station"]) == ("<m@a>", "B", "A")
    assert (line["trace_id"], line["span_id"]) == tuple(seen["ids"])
