"""Partner credentials on request, v1: outbound-svc asks config-svc for a partner's HTTP
credentials over core NATS request-reply. The reply carries them still sealed (AES-GCM under
the master key, context ``partner:<id>:secrets``); deployments allow only config-svc to
subscribe and only outbound-svc to publish on the subject (deploy/k8s NATS permissions)."""

from __future__ import annotations

import uuid

from as2bus.contracts.envelope import Contract

CREDENTIALS_SUBJECT = "as2.rpc.config.partner-credentials"


class CredentialsRequest(Contract):
    partner_id: uuid.UUID


class CredentialsReply(Contract):
    partner_id: uuid.UUID
    found: bool
    sealed: str | None = None


def secrets_context(partner_id: uuid.UUID) -> str:
    """The associated data config-svc seals a partner's secrets with."""
    return f"partner:{partner_id}:secrets"
