"""No answer from a partner, in words an operator can act on: what went wrong connecting (TCP,
a proxy, the TLS handshake) and whether another attempt can help.

Not retried, because retrying cannot change them: a server certificate we do not trust, one
matching none of the pins, a partner requiring (or refusing) our client certificate, no TLS
version in common. Retried: an unreachable host or proxy, a proxy refusing the tunnel, any
other handshake failure.

outbound-svc turns a ConnectionFailure into the result of a send attempt, inbound-svc into
the outcome of an async MDN's; both say the same words.
"""

from __future__ import annotations

import errno
import socket
import ssl
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from as2bus.contracts.config import PartnerTls
from as2bus.shared.partner_tls.pinning import PinMismatchError

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


#: A connection the server dropped before any answer (under our request, maybe after a TLS
#: alert that ``PartnerClients.refusal`` can find again).
DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

#: How a CA is trusted for a partner whose settings list none (outbound-svc names its bundle).
ADD_CA_TO_SETTINGS = "its CA be added to the partner's TLS settings"


@dataclass(frozen=True)
class ConnectionFailure:
    reason: str  # one sentence, without a credential
    retryable: bool


def safe_url(url: str) -> str:
    """The URL for messages: no user info, no query, no fragment."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def connection_failure(
    settings: PartnerTls,
    target: str,
    err: BaseException,
    proxy: str | None,
    *,
    add_ca: str = ADD_CA_TO_SETTINGS,
) -> ConnectionFailure:
    """Why a request to ``target`` (``safe_url``'s), made with the partner's TLS ``settings``,
    got no answer because of ``err``. ``add_ca``: the fix for an untrusted certificate when
    the partner lists no CA."""
    pin = _cause(err, PinMismatchError)
    if pin is not None:
        return _refused(f"TLS: {pin} ({target}); not retried: {_PIN_FIX}")
    tls = _cause(err, ssl.SSLError)
    if isinstance(tls, ssl.SSLCertVerificationError):
        return _refused(_untrusted(settings, target, tls, add_ca))
    if tls is not None:
        return _handshake_failed(settings, target, tls)
    if isinstance(err, httpx.ProxyError) and proxy:
        reason = f"the proxy {proxy} did not open a tunnel to {target}: {err}"
        return ConnectionFailure(reason, retryable=True)
    if proxy:
        reason = f"could not reach the proxy {proxy} (for {target}): {unreachable(err, proxy)}"
        return ConnectionFailure(reason, retryable=True)
    return ConnectionFailure(f"could not reach {target}: {unreachable(err, target)}", True)


def unreachable(err: BaseException, url: str) -> str:
    """Why no connection to ``url`` could be had, in words: httpx's ConnectError says only
    "All connection attempts failed"; the socket error under it tells a host name typo from
    a server that is down. The exception's class name only when none of them is found."""
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is no number: the URL as written
        port = None
    where = f"{host}:{port}" if port else host
    dns = _cause(err, socket.gaierror)
    if dns is not None:
        if dns.errno == socket.EAI_AGAIN:
            return f"the host name {host!r} could not be looked up now (DNS did not answer)"
        if dns.errno in _NAME_NOT_FOUND:
            return f"the host name {host!r} was not found (DNS)"
        return f"the host name {host!r} could not be looked up (DNS: {dns.strerror})"
    if _cause(err, ConnectionRefusedError) is not None:
        return f"nothing is listening at {where}: connection refused"
    if _cause(err, ConnectionResetError) is not None:
        return f"{where} reset the connection"
    if _cause(err, BrokenPipeError) is not None:
        return f"{where} closed the connection while we were sending"
    if _cause(err, TimeoutError) is not None:
        return f"no connection to {where} within the time allowed (timed out)"
    if isinstance(err, httpx.RemoteProtocolError):
        return f"{where} closed the connection without answering"
    os_error = _cause(err, OSError)
    if os_error is not None and os_error.errno in _UNREACHABLE:
        return f"{where} cannot be reached from here: {_UNREACHABLE[os_error.errno]}"
    if os_error is not None and os_error.errno is not None and os_error.strerror:
        return f"{where}: {os_error.strerror.lower()}"
    return type(err).__name__


#: getaddrinfo's answers for a name that does not exist (NXDOMAIN) or has no address.
_NAME_NOT_FOUND = {
    socket.EAI_NONAME,
    getattr(socket, "EAI_NODATA", socket.EAI_NONAME),  # not on every platform
}
_UNREACHABLE = {
    errno.ENETUNREACH: "the network is unreachable",
    errno.EHOSTUNREACH: "no route to the host",
}


E = TypeVar("E", bound=BaseException)

_PIN_FIX = "the partner's TLS settings list the certificates it may present (or its keys)"


def _untrusted(
    settings: PartnerTls, target: str, tls: ssl.SSLCertVerificationError, add_ca: str
) -> str:
    why = tls.verify_message or tls.reason or str(tls)
    if tls.verify_code in _UNKNOWN_ISSUER:
        why += ": issued by a CA we do not trust"
    fix = (
        "the CA certificates in the partner's TLS settings be corrected"
        if settings.ca_bundle_pem
        else add_ca
    )
    return (
        f"TLS: the certificate of {target} is not trusted ({why}); not retried: the partner "
        f"must fix its certificate (or the URL its host name), or {fix}"
    )


def _handshake_failed(settings: PartnerTls, target: str, tls: ssl.SSLError) -> ConnectionFailure:
    alert = tls.reason or type(tls).__name__
    if alert == "TLSV13_ALERT_CERTIFICATE_REQUIRED":
        return _refused(
            f"TLS: the partner requires a TLS client certificate ({target} asked for one and "
            "we sent none); not retried: set the partner's TLS settings to present ours"
        )
    if alert in _CLIENT_CERT_REFUSED:
        ours = "ours" if settings.client_certificate else "the one we sent"
        return _refused(
            f"TLS: the partner requires a TLS client certificate and refused {ours} ({target}: "
            f"{_CLIENT_CERT_REFUSED[alert]}); not retried: send the partner our certificate "
            "of this partnership's keystore"
        )
    if alert in _NO_COMMON_VERSION:
        return _refused(
            f"TLS: {target} speaks no TLS version we accept (TLS {settings.min_version} or "
            f"newer for this partner; {alert}); not retried"
        )
    reason = f"TLS handshake with {target} failed: {alert}"
    if alert == "SSLV3_ALERT_HANDSHAKE_FAILURE" and not settings.client_certificate:
        reason += (
            " (the partner may require a TLS client certificate, or offer no cipher we accept)"
        )
    elif alert == "WRONG_VERSION_NUMBER":
        reason += " (is the port an HTTPS one?)"
    return ConnectionFailure(reason, retryable=True)


def _refused(reason: str) -> ConnectionFailure:
    return ConnectionFailure(reason, retryable=False)


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
