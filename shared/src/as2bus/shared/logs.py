"""Logging set-up shared by every service: plain text for a terminal, JSON for Kubernetes.

Values that look like credentials are masked by a filter on the root handler, as a last line of
defence; the first line is never passing a secret to a logger at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import faulthandler
import json
import logging
import re
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization:\s*)(\S+(?:\s+\S+)?)"),
    re.compile(
        r"(?i)((?:password|passwd|token|secret|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"
    ),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


def one_line(err: BaseException, limit: int = 300) -> str:
    """An error as one line for a log: its type and the first line of its message. For the
    passing faults a loop retries (a database away for a moment), where a traceback at every
    retry buried the rest of the log; loggers keep the traceback at DEBUG."""
    lines = str(err).strip().splitlines()
    first = lines[0] if lines else ""
    return f"{type(err).__name__}: {first}"[:limit] if first else type(err).__name__


#: The AS2 message the current task works on (Message-ID, partner, station), for the JSON
#: lines: set for the span of a send (``about_message``), for the handling of a bus message
#: (``about``: shared/bus/log_context.py) and for the rest of an HTTP request's task once its
#: message is known (``note_message``). A context variable, so concurrent sends, requests and
#: consumed messages each see their own.
_ABOUT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "as2bus_about_message", default=None
)
#: Where the formatter finds the current trace and span ids (``as2bus.shared.tracing`` sets
#: it when tracing is on; without tracing there are none).
trace_ids: Callable[[], dict[str, str]] = dict


def _about(message_id: str | None, partner: str | None, station: str | None) -> dict[str, str]:
    named = {"message_id": message_id, "partner": partner, "station": station}
    return {key: value for key, value in named.items() if value}


@contextlib.contextmanager
def about(fields: Mapping[str, str]) -> Iterator[None]:
    """Every log line in the block carries these fields (in JSON lines), e.g. ``message_id``;
    the fields of an enclosing block come back after it."""
    token = _ABOUT.set(fields)
    try:
        yield
    finally:
        _ABOUT.reset(token)


def about_message(
    message_id: str, *, partner: str | None = None, station: str | None = None
) -> contextlib.AbstractContextManager[None]:
    """Every log line in the block names this AS2 message (in JSON lines)."""
    return about(_about(message_id, partner, station))


def note_message(
    message_id: str | None, *, partner: str | None = None, station: str | None = None
) -> None:
    """From here to the end of the current task (an HTTP request's), log lines name this
    message."""
    if message_id:
        _ABOUT.set(_about(message_id, partner, station))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class ContextFilter(logging.Filter):
    """Copies the current message and trace onto the record where it is made: the formatter
    may run later or elsewhere, outside the task that logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.as2bus_context = {**(_ABOUT.get() or {}), **trace_ids()}
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "as2bus_context", {}),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry)


#: What probes and scrapers ask every few seconds: Kubernetes (/healthz, /readyz), Prometheus
#: (/metrics), and ``make run`` while a service starts. A line per ask buried everything else;
#: readiness logs its own changes instead (``shared/web.py``).
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ProbeAccessFilter(logging.Filter):
    """Leaves probes' requests out of uvicorn's access log (its record's arguments are the
    client, the method, the path with its query, the HTTP version and the status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return args[2].partition("?")[0] not in PROBE_PATHS
        return True


def configure_logging(service: str, level: str = "INFO", *, json_lines: bool = False) -> None:
    # `kill -USR1 <pid>` prints every thread's stack to stderr: a hung request can be diagnosed
    # in place, without a debugger.
    stream = sys.__stderr__
    if stream is not None:
        with contextlib.suppress(AttributeError, ValueError, OSError):  # no real fd: no dumps
            faulthandler.register(signal.SIGUSR1, file=stream, all_threads=True)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.addFilter(ContextFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs repeat every request line; keep them, but at the chosen level, and without
    # the probes'.
    # uvicorn's own logging config (its default, when something ran it so) gives its loggers
    # their own handlers and stops them propagating: their lines would bypass this handler,
    # the redaction with it.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.setLevel(level.upper())
    if not any(isinstance(f, ProbeAccessFilter) for f in access.filters):
        access.addFilter(ProbeAccessFilter())
    # httpx logs each request's full URL at INFO, query string included, which may carry a
    # partner's token (token-in-query authentication); our own code logs the outcomes.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
