"""POSTing one async MDN to the URL the partner asked for, speaking TLS as the partner's TLS
settings demand: its trust, pins (checked before any byte of the MDN), lowest version, proxy
and our client certificate, with the client cache and the words outbound-svc sends messages
with (``as2bus.shared.partner_tls``). A partner no longer configured gets the default client.

Redirects are not followed (an MDN is answered where it was asked for). Before each POST the
URL is judged (``mdn_network``: http or https, to addresses allowed), and the connections are
made by the same judge; a refusal is final, with its sentence, never retried. The partner the
MDN answers (the AS2-From of a message the codec accepted) adds its own networks to the
judge's for its POST, over clients of its own: a connection those networks allowed is never
reused for another partner's MDN.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Protocol

import httpx

from as2bus.contracts import PartnerState
from as2bus.contracts.config import PartnerTls
from as2bus.inbound.adapters.mdn_network import AddressRefusedError, MdnNetwork
from as2bus.inbound.mdn_targets import partner_networks
from as2bus.shared.partner_tls.clients import PartnerClients, proxy_for
from as2bus.shared.partner_tls.context import TlsSetupError
from as2bus.shared.partner_tls.errors import DROPPED, connection_failure, safe_url
from as2bus.shared.partner_tls.identity import ClientIdentity

log = logging.getLogger(__name__)


class PartnerTlsDirectory(Protocol):
    """Partners and our keys (``parties.PartyResolver``)."""

    def partner_by_as2_id(self, as2_id: str) -> PartnerState | None: ...

    async def tls_identity(
        self, station_as2_id: str | None, partner: PartnerState
    ) -> ClientIdentity | None: ...


@dataclass(frozen=True)
class Posted:
    """What came of one POST: ``error`` None when the partner took the MDN (2xx)."""

    error: str | None
    retryable: bool = True


class MdnSender:
    def __init__(
        self, clients: PartnerClients, partners: PartnerTlsDirectory, network: MdnNetwork
    ) -> None:
        self._clients = clients
        self._partners = partners
        self._network = network  # the clients' connections are made by it too (bootstrap)

    async def post(
        self,
        url: str,
        headers: dict[str, str],
        body: bytes,
        *,
        station: str | None,
        partner: str | None,
    ) -> Posted:
        """POST the MDN from ``station`` (our AS2 ID) to ``partner`` (its AS2 ID) at ``url``."""
        known = self._partners.partner_by_as2_id(partner) if partner else None
        own = partner_networks(known.async_mdn_networks) if known is not None else ()
        with self._network.for_partner(own):
            return await self._judged_post(url, headers, body, station, known, apart=bool(own))

    async def _judged_post(
        self,
        url: str,
        headers: dict[str, str],
        body: bytes,
        station: str | None,
        known: PartnerState | None,
        *,
        apart: bool,
    ) -> Posted:
        refused = await self._network.refusal(url)
        if refused is not None:
            return Posted(f"{refused}; not retried", retryable=False)
        if known is None:
            async with self._clients.lease_default(url) as client:
                return await self._post(client, None, None, url, headers, body)
        if not known.tls.verify:
            log.warning(
                "TLS verification is off for partner %s (async MDN to %s): its server is not "
                "authenticated; for a test partner only",
                known.as2_id,
                safe_url(url),
            )
        identity = await self._partners.tls_identity(station, known)
        try:
            async with self._clients.lease(known, identity, url, apart=apart) as client:
                return await self._post(client, known, identity, url, headers, body)
        except TlsSetupError as err:
            return Posted(f"TLS: {err}; not retried", retryable=False)

    async def rest(self) -> None:
        """Nothing more to send for now: close the connections kept for the next MDN."""
        await self._clients.close_idle()

    async def _post(
        self,
        client: httpx.AsyncClient,
        partner: PartnerState | None,
        identity: ClientIdentity | None,
        url: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Posted:
        target = safe_url(url)
        try:
            response = await client.post(url, content=body, headers=headers)
        except AddressRefusedError as err:  # resolved anew for the connection: see mdn_network
            return Posted(f"{err}; not retried", retryable=False)
        except httpx.TimeoutException as err:
            return Posted(f"timed out posting to {target} ({type(err).__name__})")
        except (httpx.TransportError, ssl.SSLError) as err:
            # A TLS 1.3 server's refusal of our certificate (or its absence) may be lost
            # under the request: a new handshake hears it (see PartnerClients.refusal).
            if isinstance(err, DROPPED) and partner is not None:
                err = await self._clients.refusal(partner, identity, url) or err
            settings = partner.tls if partner is not None else PartnerTls()
            proxy = proxy_for(partner, url) if partner is not None else None
            shown = safe_url(proxy).rstrip("/") if proxy else None
            failure = connection_failure(settings, target, err, shown)
            return Posted(failure.reason, failure.retryable)
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            return Posted(f"posting to {target} failed: {type(err).__name__}", retryable=False)
        if response.status_code >= 300:
            return Posted(f"HTTP {response.status_code} from {target}")
        return Posted(None)
