"""Partner credentials for outbound-svc (request-reply, a queue group across replicas).

The sealed value is returned as stored: only a holder of the master key can open it, and NATS
permissions restrict who may ask (see as2bus.contracts.credentials).
"""

from __future__ import annotations

from collections.abc import Callable

from faststream.nats import NatsBroker

from as2bus.config.service import ConfigService
from as2bus.contracts.credentials import (
    CREDENTIALS_SUBJECT,
    CredentialsReply,
    CredentialsRequest,
)


def register_credentials(broker: NatsBroker, service: Callable[[], ConfigService]) -> None:
    @broker.subscriber(
        CREDENTIALS_SUBJECT,
        queue="config-svc",
        title="PartnerCredentials:Responder",
        description="Answers outbound-svc with a partner's HTTP credentials, still sealed.",
    )
    async def credentials(request: CredentialsRequest) -> CredentialsReply:
        found, sealed = await service().sealed_credentials(request.partner_id)
        return CredentialsReply(partner_id=request.partner_id, found=found, sealed=sealed)
