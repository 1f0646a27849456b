"""Key material on request (core NATS request-reply, a queue group across replicas).

Only inbound-svc and outbound-svc may publish to this subject and only cert-svc may subscribe
(NATS permissions in deploy/k8s). Private keys in the reply are still sealed with the master key.
"""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import NatsBroker

from as2bus.cert.service import CertService
from as2bus.contracts.certs import (
    KEY_MATERIAL_SUBJECT,
    KeyMaterialReply,
    KeyMaterialRequest,
)


def register_key_material(broker: NatsBroker, service: Callable[[], CertService]) -> None:
    @broker.subscriber(
        KEY_MATERIAL_SUBJECT,
        queue="cert-svc",
        title="KeyMaterial:Responder",
        description="Answers inbound/outbound with certificates and sealed keys in service.",
    )
    async def key_material(request: KeyMaterialRequest) -> KeyMaterialReply:
        return await service().key_material(request.aliases)
