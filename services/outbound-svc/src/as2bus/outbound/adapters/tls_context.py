"""The SSLContext we speak TLS with to one partner: shared with inbound-svc's async MDNs, so it
lives in ``as2bus.shared.partner_tls.context``; outbound-svc's modules import it from here."""

from __future__ import annotations

from as2bus.shared.partner_tls.context import (
    MINIMUM_VERSIONS,
    TlsSetupError,
    default_context,
    load_identity,
    partner_context,
)

__all__ = [
    "MINIMUM_VERSIONS",
    "TlsSetupError",
    "default_context",
    "load_identity",
    "partner_context",
]
