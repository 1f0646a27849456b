"""Logging set-up shared by every service: plain text for a terminal, JSON for Kubernetes.

Values that look like credentials are masked by a filter on the root handler, as a last line of
defence; the first line is never passing a secret to a logger at all.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import logging
import re
import signal
import sys
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


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry)


def configure_logging(service: str, level: str = "INFO", *, json_lines: bool = False) -> None:
    # `kill -USR1 <pid>` prints every thread's stack to stderr: a hung request can be diagnosed
    # in place, without a debugger.
    stream = sys.__stderr__
    if stream is not None:
        with contextlib.suppress(AttributeError, ValueError, OSError):  # no real fd: no dumps
            faulthandler.register(signal.SIGUSR1, file=stream, all_threads=True)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs repeat every request line; keep them, but at the chosen level.
    logging.getLogger("uvicorn.access").setLevel(level.upper())
    # httpx logs each request's full URL at INFO, query string included, which may carry a
    # partner's token (token-in-query authentication); our own code logs the outcomes.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
