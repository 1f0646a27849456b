"""No answer from a partner, in words an operator can act on, as the result of a send attempt.

The words (and whether another attempt can help) are ``as2bus.shared.partner_tls.errors``'s,
shared with inbound-svc's async MDNs; outbound-svc names its own CA bundle as the fix for a
partner whose certificate we do not trust and whose settings list no CA.
"""

from __future__ import annotations

from as2bus.contracts import PartnerState
from as2bus.outbound.posting import PostResult
from as2bus.shared.partner_tls.errors import connection_failure

ADD_CA = "its CA be added with AS2BUS_OUTBOUND_CA_BUNDLE"


def connection_failed(
    partner: PartnerState, target: str, err: BaseException, proxy: str | None
) -> PostResult:
    """The result of an attempt that got no answer because of ``err``."""
    failure = connection_failure(partner.tls, target, err, proxy, add_ca=ADD_CA)
    return PostResult(None, failure.reason, retryable=failure.retryable)
