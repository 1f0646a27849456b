"""Bus entry points: the send-command consumer and the async-MDN consumer.

Both are durable pull consumers, so every replica shares the work and a restart continues
where the last acknowledged message was. Each takes the raw body: a malformed command is
refused with a MessageRejected instead of being redelivered forever. A handler that fails
(the database away) has its message delivered again after a growing delay
(``redelivered_later``): faststream's default would drop it.

The body comes from a decoder (``_raw_body``) rather than by asking for the ``NatsMessage``:
fast_depends resolves a context parameter with a synchronous call, which it runs on a worker
thread, one hand-off per message (about 0.5 ms of CPU each on our benchmark VM).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from as2bus.contracts import SEND_SUBJECT, MdnReceived, MdnReport, UnknownEventError, parse_event
from as2bus.contracts.subjects import COMMANDS_STREAM, EVENTS_STREAM
from as2bus.outbound.accept import Acceptor
from as2bus.outbound.settle import MdnBeforeItsMessage, Settlement
from as2bus.shared.bus.redelivery import redelivered_later
from as2bus.shared.tracing import as2_span


async def _raw_body(msg: NatsMessage) -> bytes:
    return bytes(msg.body)


@dataclass(frozen=True)
class _Command:
    body: bytes
    #: The publisher's id for it (a send request's request_id, by the contract): a refusal of
    #: a body without a valid request id echoes it.
    msg_id: str | None


async def _command(msg: NatsMessage) -> _Command:
    return _Command(bytes(msg.body), (msg.headers or {}).get("Nats-Msg-Id"))


def register_consumers(
    broker: NatsBroker,
    acceptor: Callable[[], Acceptor],
    settlement: Callable[[], Settlement],
    *,
    inbox_prefix: str,
) -> None:
    # faststream would fetch on "_INBOX." whatever the connection's prefix: deploy/k8s lets a
    # service read its own reply subjects only (see shared/bus/connection.py).
    fetch_inbox = f"{inbox_prefix}.".encode()

    @broker.subscriber(
        SEND_SUBJECT,
        stream=JStream(COMMANDS_STREAM, declare=False),
        durable="outbound-svc-send",
        pull_sub=PullSub(batch_size=10, timeout=1.0),
        inbox_prefix=fetch_inbox,
        decoder=_command,
        title="SendRequest:Consumer",
        description="Send requests from other systems (as2.cmd.send), consumed once.",
    )
    async def on_send(command: _Command) -> None:
        async with redelivered_later(broker.context, "a send request"):
            await acceptor().accept_raw(command.body, command.msg_id)

    @broker.subscriber(
        MdnReceived.subject,
        stream=JStream(EVENTS_STREAM, declare=False),
        durable="outbound-svc-mdn",
        pull_sub=PullSub(batch_size=10, timeout=1.0),
        inbox_prefix=fetch_inbox,
        decoder=_raw_body,
        title="MdnReceived:Consumer",
        description="Async MDNs that inbound-svc received for our messages.",
    )
    async def on_mdn(body: bytes) -> None:
        try:
            event = parse_event(body)
        except UnknownEventError:
            return
        if isinstance(event, MdnReceived):
            early = (MdnBeforeItsMessage,)  # its message still being sent: in a moment
            with _settle_span(event.data):
                async with redelivered_later(broker.context, "an async MDN", not_yet=early):
                    await settlement().mdn_received(event.data)


def _settle_span(report: MdnReport) -> AbstractContextManager[None]:
    """An async MDN arrives in a trace of its own (the partner's POST to inbound-svc): its
    settling continues the trace of the message's send request instead, when this process
    sent it (shared/tracing.py, ``as2_span``), linked to the MDN's. A sync MDN's event
    settles nothing here (its sender did): no span."""
    if report.mode != "async":
        return contextlib.nullcontext()
    return as2_span(
        "outbound-svc settle",
        message_id=report.original_message_id,
        partner=report.partner,
        station=report.station,
    )
