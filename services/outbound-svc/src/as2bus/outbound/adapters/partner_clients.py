"""One HTTP client per partner TLS profile: shared with inbound-svc's async MDNs, so it lives
in ``as2bus.shared.partner_tls.clients`` (its doc says how clients are kept and replaced)."""

from __future__ import annotations

from as2bus.shared.partner_tls.clients import (
    LIMITS,
    PartnerClients,
    PinnedTransport,
    default_transport,
    partner_client,
    proxy_for,
)

__all__ = [
    "LIMITS",
    "PartnerClients",
    "PinnedTransport",
    "default_transport",
    "partner_client",
    "proxy_for",
]
