"""The connection test an operator runs against one partner: each step of reaching them, in
order, with its result: DNS, TCP (to the proxy, when the partner is reached through one), TLS
(chain, expiry, name, pins, our client certificate, minimum version), an HTTP request with the
partner's configured authentication, and the partner's certificates in our keystores.
A step that fails stops the network steps after it (they could only fail the same way).

TLS and HTTP are one request made as a send makes it, with the partner's TLS settings (a new
client each time, so there is always a handshake to report), and fail in the same words."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509

from as2bus.contracts import PartnerState
from as2bus.outbound.adapters.partner_clients import PartnerClients, proxy_for
from as2bus.outbound.adapters.partner_http import PartnerHttp
from as2bus.outbound.adapters.pinning import fingerprints
from as2bus.outbound.adapters.tls_context import TlsSetupError
from as2bus.outbound.ports import KeyMaterial
from as2bus.outbound.posting import ClientIdentity, PostResult
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.keyring import CertificateUnavailableError
from as2bus.shared.partner_tls.errors import unreachable
from as2bus.shared.partner_tls.identity import client_identity

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool | None  # None: not run (an earlier step failed, or it does not apply)
    detail: str
    ms: int | None = None


@dataclass
class _Handshake:
    version: str
    certificate: bytes | None  # DER
    at: float  # time.monotonic()


class ConnectionTest:
    def __init__(
        self,
        http: PartnerHttp,
        clients: PartnerClients,
        keys: KeyMaterial,
        config: ConfigReplica,
    ) -> None:
        self._http = http
        self._clients = clients
        self._keys = keys
        self._config = config

    async def run(self, partner: PartnerState) -> list[Step]:
        url = urlsplit(partner.as2_url)
        proxy = proxy_for(partner)
        first = urlsplit(proxy) if proxy else url  # the host we open a connection to
        host = first.hostname or ""
        port = first.port or (443 if first.scheme == "https" else 80)
        via = f" (the proxy {host}:{port})" if proxy else ""
        steps: list[Step] = []
        target = f"{first.scheme}://{host}:{port}"
        for name, check, advice in (
            ("DNS", lambda: _resolve(host, port), _DNS_ADVICE),
            ("TCP", lambda: _connect(host, port, via), _TCP_ADVICE),
        ):
            if steps and steps[-1].ok is False:
                steps.append(Step(name, None, "not tried: the step before failed"))
                continue
            steps.append(await _timed(name, check, target, advice))
        if steps[-1].ok is False:
            names = ["TLS", "HTTP"] if url.scheme == "https" else ["HTTP"]
            steps += [Step(n, None, "not tried: the step before failed") for n in names]
        else:
            steps += await self._exchange(partner, https=url.scheme == "https")
        steps.append(await self._certificates(partner))
        return steps

    async def _exchange(self, partner: PartnerState, *, https: bool) -> list[Step]:
        """TLS and HTTP, from one request: the handshake seen, then the answer."""
        started = time.monotonic()
        seen: list[_Handshake] = []

        def observe(tls: ssl.SSLObject) -> None:
            der = tls.getpeercert(binary_form=True)
            seen.append(_Handshake(tls.version() or "TLS", der, time.monotonic()))

        try:
            identity = await self._identity(partner)
            async with self._clients.one_off(partner, identity, observe) as client:
                async with asyncio.timeout(TIMEOUT_SECONDS):
                    result = await self._http.post(partner, _HEADERS, b"", client=client)
        except TimeoutError:
            result = PostResult(None, f"no answer within {TIMEOUT_SECONDS:.0f} s", True)
        except (TlsSetupError, CertificateUnavailableError, LookupError) as err:
            result = PostResult(None, f"TLS: {err}", retryable=False)
        ms = int((time.monotonic() - started) * 1000)
        steps: list[Step] = []
        if https:
            if not seen:
                steps.append(Step("TLS", False, result.error or "no handshake", ms))
                return [*steps, Step("HTTP", None, "not tried: the step before failed")]
            shook = seen[0]
            took = int(1000 * (shook.at - started))
            steps.append(Step("TLS", True, _describe(shook, partner), took))
        steps.append(_answer(result, ms))
        return steps

    async def _identity(self, partner: PartnerState) -> ClientIdentity | None:
        """Our client certificate for the partner: that of its partnership (the first by
        station, when it has several)."""
        if not partner.tls.client_certificate:
            return None
        stations = self._config.stations
        paired = sorted(
            (stations[link.station_id] for link in self._config.partnerships.values()
             if link.partner_id == partner.id and link.station_id in stations),
            key=lambda station: station.as2_id,
        )  # fmt: skip
        station = paired[0] if paired else None
        if station is None:
            raise LookupError(
                "the partner's TLS settings present our client certificate, but no station "
                "is paired with it: no key of ours to present"
            )
        ring = await self._keys.keyring()
        return client_identity(ring, self._keys, station, partner, datetime.now(UTC))

    async def _certificates(self, partner: PartnerState) -> Step:
        ring = await self._keys.keyring()
        now = datetime.now(UTC)
        try:
            entries = ring.verification_certificates(partner.as2_alias, now)
        except CertificateUnavailableError as err:
            return Step("Partner certificate", False, str(err))
        if not entries:
            return Step("Partner certificate", False, f"none for alias {partner.as2_alias!r}")
        latest = max(entries, key=lambda e: e.not_after)
        days = (latest.not_after - now).days
        return Step("Partner certificate", True, f"{partner.as2_alias}: valid, {days} days left")


_HEADERS = {"Content-Type": "text/plain", "X-As2bus-Connection-Test": "1"}


def _answer(result: PostResult, ms: int) -> Step:
    """An empty POST with the partner's authentication: any answer but an authentication
    failure or a server error shows the endpoint is there and lets us in."""
    if result.response is None:
        return Step("HTTP", False, result.error or "no answer", ms)
    status = result.response.status_code
    if result.auth_failed:
        return Step("HTTP", False, result.error or f"HTTP {status}: authentication failed", ms)
    if status >= 500:
        return Step("HTTP", False, f"HTTP {status}: the partner's server reports an error", ms)
    if result.error and 300 <= status < 400:
        return Step("HTTP", False, result.error, ms)
    answer = f"HTTP {status}: the endpoint answers (an empty test request is not AS2)"
    if result.redirected_to:
        answer += f", at {result.redirected_to} (redirected)"
    return Step("HTTP", True, answer, ms)


def _describe(shook: _Handshake, partner: PartnerState) -> str:
    """Whose certificate, from whom, until when; how it was checked."""
    tls = partner.tls
    checks = ["not verified (test partner)"] if not tls.verify else ["verified"]
    if tls.pinned_sha256:
        checks.append("pinned")
    if tls.client_certificate:
        checks.append("our client certificate presented")
    if shook.certificate is None:
        return f"{shook.version}, no certificate"
    cert = x509.load_der_x509_certificate(shook.certificate)
    subject = _common_name(cert.subject) or "?"
    issuer = _common_name(cert.issuer) or "?"
    sha256 = fingerprints(shook.certificate)[0]
    return (
        f"{shook.version}, certificate of {subject} from {issuer}, valid until "
        f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC, SHA-256 {sha256} ({', '.join(checks)})"
    )


def _common_name(name: x509.Name) -> str | None:
    found = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(found[0].value) if found else None


#: What to do when a step fails, after the words of why.
_DNS_ADVICE = "check the host name in the partner's URL, or ask the partner for the right one"
_TCP_ADVICE = (
    "the partner's server is down, or the URL's host or port is wrong: check the Partner URL, "
    "then ask the partner whether its AS2 server is up"
)


async def _timed(
    name: str, check: Callable[[], Awaitable[str]], target: str = "", advice: str = ""
) -> Step:
    """``target``: the URL the step connects to, to word a socket error as the message
    pages do ("nothing is listening at …: connection refused"); ``advice``: what to do."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            detail = await check()
        ok = True
    except TimeoutError:
        ok, detail = False, f"no answer within {TIMEOUT_SECONDS:.0f} s"
    except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
        ok, detail = False, _why(err, target)
    if ok is False and advice:
        detail = f"{detail}; {advice}"
    return Step(name, ok, detail, int((time.monotonic() - started) * 1000))


def _why(err: Exception, target: str) -> str:
    """A socket error in the message pages' words; a TLS or other error as it says itself."""
    if target and isinstance(err, OSError) and not isinstance(err, ssl.SSLError):
        return unreachable(err, target)
    return str(err) or type(err).__name__


async def _resolve(host: str, port: int) -> str:
    if not host:
        raise ValueError("the partner's URL has no host name")
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = sorted({str(info[4][0]) for info in found})
    return f"{host} is {', '.join(addresses)}"


async def _connect(host: str, port: int, via: str) -> str:
    _reader, writer = await asyncio.open_connection(host, port)
    writer.close()
    await writer.wait_closed()
    return f"port {port} accepts connections{via}"
