"""No answer from a partner, in words an operator can act on: what went wrong connecting (TCP,
a proxy, the TLS handshake) and whether another attempt can help.

Not retried, because retrying cannot change them: a server certificate we do not trust, one
matching none of the pins, a partner requiring (or refusing) our client certificate, no TLS
version in common. Retried: an unreachable host or proxy, a proxy refusing the tunnel, any
other handshake failure.
"""

from __future__ import annotations

import ssl
from typing import TypeVar

import httpx

from as2bus.contracts import PartnerState
from as2bus.outbound.adapters.pinning import PinMismatchError
from as2bus.outbound.posting import PostResult

#: OpenSSL's verification codes for an issuer we cannot find among the trusted ones.
_UNKNOWN_ISSUER = {2, 20, 21}
#: The alerts of a server refusing the client certificate we presented.
_CLIENT_CERT_REFUSED = {
    "TLSV1_ALERT_UNKNOWN_CA": "it does not trust its issuer",
    "SSLV3_ALERT_BAD_CERTIFICATE": "bad certificate",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "certificate unknown",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "certificate expired",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "certificate revoked",
    "TLSV1_ALERT_ACCESS_DENIED": "access denied",
}
_NO_COMMON_VERSION = {
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY",
}


def connection_failed(
    partner: PartnerState, target: str, err: BaseException, proxy: str | None
) -> PostResult:
    """The result of an attempt that got no answer because of ``err``."""
    pin = _cause(err, PinMismatchError)
    if pin is not None:
        return _refused(f"TLS: {pin} ({target}); not retried: {_PIN_FIX}")
    tls = _cause(err, ssl.SSLError)
    if isinstance(tls, ssl.SSLCertVerificationError):
        return _refused(_untrusted(partner, target, tls))
    if tls is not None:
        return _handshake_failed(partner, target, tls)
    if isinstance(err, httpx.ProxyError) and proxy:
        reason = f"the proxy {proxy} did not open a tunnel to {target}: {err}"
        return PostResult(None, reason, retryable=True)
    if proxy:
        reason = f"could not reach the proxy {proxy} (for {target}): {type(err).__name__}"
        return PostResult(None, reason, retryable=True)
    return PostResult(None, f"could not reach {target}: {type(err).__name__}", retryable=True)


E = TypeVar("E", bound=BaseException)

_PIN_FIX = "the partner's TLS settings list the certificates it may present (or its keys)"


def _untrusted(partner: PartnerState, target: str, tls: ssl.SSLCertVerificationError) -> str:
    why = tls.verify_message or tls.reason or str(tls)
    if tls.verify_code in _UNKNOWN_ISSUER:
        why += ": issued by a CA we do not trust"
    fix = (
        "the CA certificates in the partner's TLS settings be corrected"
        if partner.tls.ca_bundle_pem
        else "its CA be added with AS2BUS_OUTBOUND_CA_BUNDLE"
    )
    return (
        f"TLS: the certificate of {target} is not trusted ({why}); not retried: the partner "
        f"must fix its certificate (or the URL its host name), or {fix}"
    )


def _handshake_failed(partner: PartnerState, target: str, tls: ssl.SSLError) -> PostResult:
    alert = tls.reason or type(tls).__name__
    if alert == "TLSV13_ALERT_CERTIFICATE_REQUIRED":
        return _refused(
            f"TLS: the partner requires a TLS client certificate ({target} asked for one and "
            "we sent none); not retried: set the partner's TLS settings to present ours"
        )
    if alert in _CLIENT_CERT_REFUSED:
        ours = "ours" if partner.tls.client_certificate else "the one we sent"
        return _refused(
            f"TLS: the partner requires a TLS client certificate and refused {ours} ({target}: "
            f"{_CLIENT_CERT_REFUSED[alert]}); not retried: send the partner our certificate "
            "of this partnership's keystore"
        )
    if alert in _NO_COMMON_VERSION:
        return _refused(
            f"TLS: {target} speaks no TLS version we accept (TLS {partner.tls.min_version} or "
            f"newer for this partner; {alert}); not retried"
        )
    reason = f"TLS handshake with {target} failed: {alert}"
    if alert == "SSLV3_ALERT_HANDSHAKE_FAILURE" and not partner.tls.client_certificate:
        reason += (
            " (the partner may require a TLS client certificate, or offer no cipher we accept)"
        )
    elif alert == "WRONG_VERSION_NUMBER":
        reason += " (is the port an HTTPS one?)"
    return PostResult(None, reason, retryable=True)


def _refused(reason: str) -> PostResult:
    return PostResult(None, reason, retryable=False)


def _cause(err: BaseException, kind: type[E]) -> E | None:
    """The ``kind`` error under httpx's (httpx wraps httpcore's, which wraps the ssl
    module's or our pin check's)."""
    seen: BaseException | None = err
    for _ in range(8):  # a chain of causes is short; never loop on a cycle
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
