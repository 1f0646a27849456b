"""A failed TLS handshake on our endpoint, in words for the operator: one WARNING line naming
the client's address, why, and whose certificate it was when one was presented; counted in
``as2bus_inbound_tls_handshake_failures_total{reason}``.

A client that keeps failing must not flood the log: one line per address and reason per
``every_seconds`` (a minute), the next one saying how many were held back. The counter counts
every failure. Where the failure is caught and the certificate found: ``handshake_watch.py``.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509

from as2bus.inbound.metrics import TLS_HANDSHAKE_FAILURES

log = logging.getLogger("as2bus.inbound")

#: OpenSSL's verify codes (``X509_V_ERR_*``) for a certificate no trusted CA issued.
_UNKNOWN_ISSUER = {2, 18, 19, 20, 21}
_NOT_YET_VALID, _EXPIRED = 9, 10
#: Alerts a client sends when it does not accept the server's certificate.
_ABOUT_OUR_CERTIFICATE = {
    "unknown ca", "bad certificate", "certificate unknown", "certificate expired",
    "certificate revoked", "unsupported certificate",
}  # fmt: skip
_VERSIONS = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1"}


@dataclass(frozen=True)
class Refusal:
    reason: str  # the counter's label: a short fixed word
    words: str  # the log line's, after "failed: "


@dataclass
class Handshake:
    """What was seen of one handshake before it failed."""

    hello_version: int | None = None  # the ClientHello's client_version (wire value)
    certificate: x509.Certificate | None = None  # the client's leaf, if it sent one


def explain(err: ssl.SSLError, seen: Handshake) -> Refusal:
    """Why OpenSSL ended the handshake, as an operator reads it."""
    if isinstance(err, ssl.SSLCertVerificationError):
        return _certificate_refused(err, seen.certificate)
    code = err.reason or ""
    if code == "UNSUPPORTED_PROTOCOL":
        offered = _VERSIONS.get(seen.hello_version or 0)
        said = f"offered {offered} at most" if offered else "offered no TLS version we accept"
        return Refusal("protocol-version", f"the client {said}; we require TLS 1.2 or later")
    if code == "NO_SHARED_CIPHER":
        return Refusal(
            "no-shared-cipher",
            "no cipher in common (for TLS 1.2 we accept ECDHE with AES-GCM or ChaCha20-Poly1305)",
        )
    if code == "PEER_DID_NOT_RETURN_A_CERTIFICATE":
        return Refusal("no-certificate", "the client sent no certificate, and one is required")
    if code == "HTTP_REQUEST":
        return Refusal("plain-http", "the client spoke plain HTTP to the HTTPS port")
    if code == "WRONG_VERSION_NUMBER":
        return Refusal("not-tls", "the client did not speak TLS")
    if "_ALERT_" in code:  # the client ended it
        alert = code.split("_ALERT_", 1)[1].lower().replace("_", " ")
        if alert in _ABOUT_OUR_CERTIFICATE:
            return Refusal("client-alert", f"the client refused our certificate ({alert})")
        return Refusal("client-alert", f"the client ended it with the alert '{alert}'")
    return Refusal("other", f"TLS error: {(code or str(err)).lower().replace('_', ' ')}")


def _certificate_refused(
    err: ssl.SSLCertVerificationError, leaf: x509.Certificate | None
) -> Refusal:
    code = err.verify_code
    name = leaf.subject.rfc4514_string() if leaf else ""
    issuer = f"issuer {leaf.issuer.rfc4514_string()}" if leaf else ""
    if code == _EXPIRED:
        if leaf is not None and leaf.not_valid_after_utc > datetime.now(UTC):
            words = f"a CA certificate in the client's chain has expired{_about(name, issuer)}"
            return Refusal("certificate-expired", words)
        ended = f"expired {leaf.not_valid_after_utc:%Y-%m-%d}" if leaf else ""
        return Refusal(
            "certificate-expired", f"the client certificate has expired{_about(name, ended)}"
        )
    if code == _NOT_YET_VALID:
        since = f"valid from {leaf.not_valid_before_utc:%Y-%m-%d}" if leaf else ""
        return Refusal(
            "certificate-not-yet-valid",
            f"the client certificate is not valid yet{_about(name, since)}",
        )
    if code in _UNKNOWN_ISSUER:
        words = f"the client certificate was issued by a CA no partner lists{_about(name, issuer)}"
        return Refusal("unknown-ca", words)
    words = f"the client certificate was refused: {err.verify_message}{_about(name, issuer)}"
    return Refusal("bad-certificate", words)


def _about(*details: str) -> str:
    """`` (a, b)`` of the details known; nothing when none is."""
    known = [d for d in details if d]
    return f" ({', '.join(known)})" if known else ""


def address(peer: object) -> str:
    """``10.1.2.3:51234`` or ``[::1]:51234``; ``an unknown address`` when not known."""
    if not isinstance(peer, tuple) or len(peer) < 2:
        return "an unknown address"
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


@dataclass
class _Window:
    since: float  # when the last line for this address and reason was written
    held: int = 0  # failures since, not written


@dataclass
class HandshakeFailures:
    """Counts every failed handshake and logs it, at most once per address and reason per
    ``every_seconds``."""

    every_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    most_addresses: int = 10_000  # beyond this, windows that have ended are forgotten
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)

    def failed(self, peer: object, refusal: Refusal) -> None:
        TLS_HANDSHAKE_FAILURES.labels(refusal.reason).inc()
        now = self.clock()
        key = (peer[0] if isinstance(peer, tuple) and peer else "", refusal.reason)
        window = self._windows.get(key)
        if window is not None and now - window.since < self.every_seconds:
            window.held += 1
            return
        held = window.held if window else 0
        self._windows[key] = _Window(now)
        self._forget_ended(now)
        more = f" (and {held} more like it from this address since the last line)" if held else ""
        log.warning("TLS handshake from %s failed: %s%s", address(peer), refusal.words, more)

    def _forget_ended(self, now: float) -> None:
        if len(self._windows) > self.most_addresses:
            self._windows = {
                k: w for k, w in self._windows.items() if now - w.since < self.every_seconds
            }
