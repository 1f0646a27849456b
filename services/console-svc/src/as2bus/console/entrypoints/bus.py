"""Bus entry points: the audit trail follows configuration and certificate events.

Two durable pull consumers (configuration, certificates): every replica shares them, a restart
continues where the last acknowledged event was, and a new console replays the history still
in the events stream (changes from before the audit trail say so)."""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub

from as2bus.console.adapters.audit_trail import AuditTrail
from as2bus.console.domain.audit import audit_entry
from as2bus.contracts import UnknownEventError, parse_event
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.shared.bus.redelivery import redelivered_later

CHANGE_SUBJECTS = {
    "console-audit-config": "as2.evt.config.>",
    "console-audit-cert": "as2.evt.cert.>",
}


async def _raw_body(msg: NatsMessage) -> bytes:
    return bytes(msg.body)


def register_consumers(
    broker: NatsBroker, trail: Callable[[], AuditTrail], *, inbox_prefix: str
) -> None:
    # faststream would fetch on "_INBOX." whatever the connection's prefix: deploy/k8s lets a
    # service read its own reply subjects only (see shared/bus/connection.py).
    fetch_inbox = f"{inbox_prefix}.".encode()
    for durable, subject in CHANGE_SUBJECTS.items():

        @broker.subscriber(
            subject,
            stream=JStream(EVENTS_STREAM, declare=False),
            durable=durable,
            pull_sub=PullSub(batch_size=50, timeout=1.0),
            inbox_prefix=fetch_inbox,
            decoder=_raw_body,
            title=f"{durable}:Consumer",
            description="Configuration and certificate changes, for the audit trail.",
        )
        async def on_change(body: bytes) -> None:
            try:
                event = parse_event(body)  # an older version upcast to ours
            except UnknownEventError:
                return  # a type this console does not know: nothing to record
            entry = audit_entry(event.model_dump(mode="json"))
            if entry is not None:
                # the database away: recorded later, not dropped (faststream's default)
                async with redelivered_later(broker.context, "an audit entry"):
                    await trail().record(entry)
