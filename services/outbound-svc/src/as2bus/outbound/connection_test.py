"""The connection test an operator runs against one partner: each step of reaching them, in
order, with its result: DNS, TCP, TLS (chain, expiry, name), an HTTP request with the
partner's configured authentication, and the partner's certificates in our keystores.
A step that fails stops the network steps after it (they could only fail the same way)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from as2bus.contracts import PartnerState
from as2bus.outbound.adapters.partner_http import PartnerHttp
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.keyring import CertificateUnavailableError

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool | None  # None: not run (an earlier step failed, or it does not apply)
    detail: str
    ms: int | None = None


class ConnectionTest:
    def __init__(self, http: PartnerHttp, keys: KeyMaterialClient, tls: ssl.SSLContext) -> None:
        self._http = http
        self._keys = keys
        self._tls = tls

    async def run(self, partner: PartnerState) -> list[Step]:
        url = urlsplit(partner.as2_url)
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        steps: list[Step] = []
        network: list[tuple[str, Callable[[], Awaitable[str]]]] = [
            ("DNS", lambda: _resolve(host, port)),
            ("TCP", lambda: _connect(host, port)),
        ]
        if url.scheme == "https":
            network.append(("TLS", lambda: _handshake(host, port, self._tls)))
        network.append(("HTTP", lambda: self._request(partner)))
        for name, check in network:
            if steps and steps[-1].ok is False:
                steps.append(Step(name, None, "not tried: the step before failed"))
                continue
            steps.append(await _timed(name, check))
        steps.append(await self._certificates(partner))
        return steps

    async def _request(self, partner: PartnerState) -> str:
        """An empty POST with the partner's authentication: any answer but an authentication
        failure or a server error shows the endpoint is there and lets us in."""
        headers = {"Content-Type": "text/plain", "X-As2bus-Connection-Test": "1"}
        result = await self._http.post(partner, headers, b"")
        if result.response is None:
            raise ConnectionError(result.error or "no answer")
        status = result.response.status_code
        if result.auth_failed:
            raise PermissionError(result.error or f"HTTP {status}: authentication failed")
        if status >= 500:
            raise ConnectionError(f"HTTP {status}: the partner's server reports an error")
        return f"HTTP {status}: the endpoint answers (an empty test request is not AS2)"

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


async def _timed(name: str, check: Callable[[], Awaitable[str]]) -> Step:
    started = time.monotonic()
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            detail = await check()
        ok = True
    except TimeoutError:
        ok, detail = False, f"no answer within {TIMEOUT_SECONDS:.0f} s"
    except (OSError, ssl.SSLError, ValueError) as err:
        ok, detail = False, str(err) or type(err).__name__
    return Step(name, ok, detail, int((time.monotonic() - started) * 1000))


async def _resolve(host: str, port: int) -> str:
    if not host:
        raise ValueError("the partner's URL has no host name")
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = sorted({str(info[4][0]) for info in found})
    return f"{host} is {', '.join(addresses)}"


async def _connect(host: str, port: int) -> str:
    _reader, writer = await asyncio.open_connection(host, port)
    writer.close()
    await writer.wait_closed()
    return f"port {port} accepts connections"


async def _handshake(host: str, port: int, tls: ssl.SSLContext) -> str:
    """Verifies the chain and the name as every send does; says whose certificate and until
    when."""
    _reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=host)
    try:
        cert = writer.get_extra_info("peercert") or {}
        version = writer.get_extra_info("ssl_object").version()
    finally:
        writer.close()
    subject = dict(item[0] for item in cert.get("subject", ())).get("commonName", host)
    issuer = dict(item[0] for item in cert.get("issuer", ())).get("organizationName", "?")
    expires = cert.get("notAfter", "?")
    return f"{version}, certificate of {subject} from {issuer}, valid until {expires}"
