"""The AsyncAPI document of the bus, generated from the contracts.

Every registered event becomes a documented publication on its subject, with its JSON schema.
``python -m as2bus.shared.asyncapi docs/asyncapi.json`` writes it; a test checks it is current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI

from as2bus.shared.contracts import KeyMaterialReply, KeyMaterialRequest, registered_events
from as2bus.shared.contracts.certs import KEY_MATERIAL_SUBJECT
from as2bus.shared.subjects import EVENTS_STREAM

DESCRIPTION = (
    "Events of the as2bus AS2 gateway. Every event carries the envelope fields event_id, "
    "event_type, occurred_at, correlation_id and schema_version; publishes set Nats-Msg-Id "
    "to event_id. Events live on the JetStream stream " + EVENTS_STREAM + "."
)


def build_asyncapi() -> dict[str, Any]:
    broker = NatsBroker("nats://as2bus-nats:4222")  # never connected: a container for the spec
    for event in sorted(registered_events(), key=lambda e: e.subject):
        broker.publisher(
            event.subject,
            title=f"{event.__name__}:Publisher",
            description=event.summary,
            schema=event,
        )
    _document_key_material(broker)
    spec = AsyncAPI(broker, title="as2bus bus", version="1.0.0", description=DESCRIPTION)
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    return document


def _document_key_material(broker: NatsBroker) -> None:
    """The one request-reply on the bus: inbound/outbound ask cert-svc for key material."""

    @broker.subscriber(
        KEY_MATERIAL_SUBJECT,
        queue="cert-svc",
        title="KeyMaterial:Request",
        description="Request-reply, served by cert-svc to inbound-svc and outbound-svc only "
        "(NATS permissions). Private keys in the reply are sealed with the master key.",
    )
    async def key_material(request: KeyMaterialRequest) -> KeyMaterialReply:
        raise NotImplementedError  # documentation only; cert-svc has the real handler


def render() -> str:
    return json.dumps(build_asyncapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/asyncapi.json")
    target.write_text(render())
    print(f"wrote {target}")
