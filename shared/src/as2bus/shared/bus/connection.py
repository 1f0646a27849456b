"""One NATS connection per process, shared by faststream (handlers, publishing) and the
JetStream management API (streams, key-value buckets) that faststream does not wrap."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.errors import ConnectionClosedError, ConnectionReconnectingError
from nats.js import JetStreamContext

from as2bus.shared.bus.log_context import MessageLogContext
from as2bus.shared.bus.streams import ensure_streams
from as2bus.shared.logs import one_line
from as2bus.shared.settings import StreamSettings
from as2bus.shared.starting import STARTUP
from as2bus.shared.tracing import broker_middlewares


@dataclass
class Bus:
    broker: NatsBroker
    client: Client
    js: JetStreamContext

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected)

    async def close(self) -> None:
        """Stop the consumers, then drain: what is being handled finishes and what was
        published is flushed. With NATS gone (restarting, or stopped before this process, as
        a whole stack stopped at once does) there is nothing to drain to: one warning, and the
        connection is closed; a message fetched and not acknowledged is delivered again."""
        try:
            await self.broker.stop()
        except (ConnectionReconnectingError, ConnectionClosedError):
            BUS_LOGGER.warning("NATS was not reachable while stopping: closed without draining")
            await self.client.close()


def inbox_prefix(url: str) -> str:
    """Where replies to this connection's requests arrive: ``_INBOX.<user>`` when the URL
    names a NATS user (``nats://user:password@host``), else NATS's default ``_INBOX``.

    deploy/k8s lets each user subscribe to its own prefix only, so no other service can read a
    key-material or credentials reply. A URL with a user but no password carries a token,
    which must not end up in subject names: it gets the default.
    """
    first = url.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"nats://{first}")
    user = parts.username
    if user and parts.password is not None and re.fullmatch(r"[A-Za-z0-9_-]+", user):
        return f"_INBOX.{user}"
    return "_INBOX"


class _QuietIdleFetches(logging.Filter):
    """faststream restarts a pull consumer's task when a fetch ends in a bare TimeoutError
    (nats-py raises one when a fetch finds nothing in time: idling, not a fault) and logs a
    traceback for it; it also logs each restart's callback at INFO. Neither tells an operator
    anything; any other failure is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("callback for ") and message.endswith("is being executed..."):
            return False
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, TimeoutError) and "raised an exception" in message)


BUS_LOGGER = logging.getLogger("as2bus.bus")
BUS_LOGGER.addFilter(_QuietIdleFetches())


def servers_of(url: str) -> str:
    """The servers of a NATS URL without their credentials, for a log line."""
    servers = []
    for server in url.split(","):
        parts = urlsplit(server.strip() if "://" in server else f"nats://{server.strip()}")
        servers.append(f"{parts.hostname}:{parts.port or 4222}")
    return ", ".join(servers)


class UnreachableLog:
    """nats-py tries a first connection again every second for as long as it fails (as it
    does to reconnect), and says nothing while NATS is away (refused, or a name that does not
    resolve yet): the service then waits, not ready, with an empty log. This says so, one line
    at most every ``every`` seconds, numbering the attempts of the current outage; each attempt
    is also what a service waiting to start answers meanwhile (``STARTUP``, starting.py)."""

    def __init__(self, url: str, every: float = 5.0) -> None:
        self._servers = servers_of(url)
        self._every = every
        self._attempts = 0
        self._failed_at = self._said_at = float("-inf")

    async def __call__(self, err: Exception) -> None:
        if not isinstance(err, OSError | TimeoutError):  # NATS answered: faststream logs it
            return
        now = time.monotonic()
        if now - self._failed_at > 2 * self._every:  # a new outage: attempts about a second apart
            self._attempts = 0
        self._attempts += 1
        self._failed_at = now
        STARTUP.say(
            f"starting: waiting for NATS at {self._servers} (attempt {self._attempts}): "
            f"{one_line(err)}"
        )  # read only while the service starts: a later outage is the readiness check's
        if now - self._said_at >= self._every:
            self._said_at = now
            BUS_LOGGER.warning(
                "cannot reach NATS at %s (attempt %d): %s; trying again every second",
                self._servers, self._attempts, one_line(err),
            )  # fmt: skip


def new_broker(url: str, *, name: str) -> NatsBroker:
    """The faststream broker every service uses: reconnects forever, replies on the user's own
    prefix, and logs each consumed message at DEBUG (two INFO lines per message drowned what
    an operator needs; failures are still logged). A handler's log lines name the message's
    correlation id (bus/log_context.py); with tracing on (shared/tracing.py) the broker also
    carries the trace context in the NATS headers."""
    return NatsBroker(
        url,
        name=name,
        inbox_prefix=inbox_prefix(url),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        error_cb=UnreachableLog(url),
        graceful_timeout=10,
        logger=BUS_LOGGER,
        log_level=logging.DEBUG,
        middlewares=(MessageLogContext, *broker_middlewares()),
    )


async def open_bus(
    url: str,
    *,
    name: str,
    streams: StreamSettings | None = None,
    broker: NatsBroker | None = None,
) -> Bus:
    """Connect and declare the streams idempotently.

    While NATS cannot be reached this waits, trying every second and saying so in the log
    (``UnreachableLog``); NATS refusing the connection (wrong credentials) raises, and the
    process exits. Once connected, the client reconnects forever through NATS restarts.
    """
    broker = broker or new_broker(url, name=name)
    STARTUP.say(f"starting: connecting to NATS at {servers_of(url)}")
    client = await broker.connect()  # a stop meanwhile cancels it, leaving nothing open
    STARTUP.say("starting: connected to NATS, setting up its streams and consumers")
    js = client.jetstream()
    await ensure_streams(js, streams or StreamSettings())
    return Bus(broker=broker, client=client, js=js)
