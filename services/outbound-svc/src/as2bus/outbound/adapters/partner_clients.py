"""The HTTP clients of each partner TLS profile: shared with inbound-svc's async MDNs, so it lives
in ``as2bus.shared.partner_tls.clients`` (its doc says how clients are kept and replaced)."""

from __future__ import annotations

from as2bus.shared.partner_tls.clients import (
    LIMITS,
    PartnerClients,
    PinnedTransport,
    default_transport,
    partner_clients,
    proxy_for,
)
from as2bus.shared.partner_tls.shelf import ClientFactory

__all__ = [
    "LIMITS",
    "ClientFactory",
    "PartnerClients",
    "PinnedTransport",
    "default_transport",
    "partner_clients",
    "proxy_for",
]
