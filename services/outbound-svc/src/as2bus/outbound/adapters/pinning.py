"""Certificate pinning between the TLS handshake and the first byte of the request: shared
with inbound-svc's async MDNs, so it lives in ``as2bus.shared.partner_tls.pinning``."""

from __future__ import annotations

from as2bus.shared.partner_tls.pinning import (
    Observer,
    PinMismatchError,
    PinnedBackend,
    fingerprints,
)

__all__ = ["Observer", "PinMismatchError", "PinnedBackend", "fingerprints"]
