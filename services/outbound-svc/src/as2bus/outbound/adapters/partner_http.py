"""POSTing an AS2 message to a partner, with the partner's HTTP authentication.

Auth modes: basic; a token in a header (name and scheme configurable; an empty scheme sends the
bare token), in a URL query parameter, or "in the body". The body is the AS2 message, so a
token in the body is sent the only way that keeps the message intact: a ``multipart/form-data``
request with a field named ``body_field`` holding the token and a file part ``message`` holding
the AS2 body with its own Content-Type (and Content-Transfer-Encoding, if any). This is the
convention for gateways that require it; the other ``Content-*`` headers of the message are
replaced by the form's.

An authentication failure is a 401/403, the configured status code, or a JSON answer (any
status: some gateways answer 200 with an error document) holding one of the configured values
at the configured dotted path (any value when none are listed). With a token refresh
configured: one refresh (``uri`` relative to ``as2_url``; body ``{"refresh_token": ...}`` as
JSON or form per ``media_type``, as query parameters for GET) and one retry. Concurrent sends
to one partner refresh once. A refresh answer that rotates the refresh token (a
``refresh_token`` beside the new token, as OAuth 2 servers do) is kept for the next refresh.
Errors never hold a credential, and the partner URL appears in them without user info or
query. Putting the credentials in the request, telling an authentication failure, and the
refresh are adapters/partner_auth.py.

What a partner may do wrong, and the result (docs/reliability.md, "Misbehaving partners"):
no connection, no answer in time, or a connection broken off before the whole answer is
retryable (the reason says when the partner may have the message: every attempt carries the
same Message-ID). A redirect is refused unless the partner's TLS settings allow following
307/308 (adapters/redirects.py). TLS is spoken as the partner's TLS settings demand, with a
client of its own (adapters/partner_clients.py); what can go wrong connecting is put in words,
retried or not, by adapters/transport_errors.py.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Protocol

import httpx

from as2bus.contracts import NoAuth, PartnerState, TokenAuthPublic
from as2bus.outbound.adapters.credentials import (
    Credentials,
    CredentialSource,
    CredentialsUnavailableError,
)
from as2bus.outbound.adapters.partner_auth import (
    TokenRefresh,
    auth_failed,
    authenticated_request,
    where,
)
from as2bus.outbound.adapters.partner_clients import proxy_for
from as2bus.outbound.adapters.redirects import next_hop, same_origin
from as2bus.outbound.adapters.tls_context import TlsSetupError
from as2bus.outbound.adapters.transport_errors import connection_failed
from as2bus.outbound.domain import retryable_status
from as2bus.outbound.posting import Body, ClientIdentity, PostResult
from as2bus.shared.partner_tls.errors import safe_url

log = logging.getLogger(__name__)


class ClientSource(Protocol):
    """The HTTP client to reach a partner with (adapters.partner_clients.PartnerClients)."""

    def lease(
        self, partner: PartnerState, identity: ClientIdentity | None
    ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]: ...

    async def refusal(
        self, partner: PartnerState, identity: ClientIdentity | None
    ) -> ssl.SSLError | None: ...


class OneClient:
    """One client for every partner, whatever its TLS settings (tests of the HTTP side)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @contextlib.asynccontextmanager
    async def lease(
        self, partner: PartnerState, identity: ClientIdentity | None
    ) -> AsyncIterator[httpx.AsyncClient]:
        yield self.client

    async def refusal(
        self, partner: PartnerState, identity: ClientIdentity | None
    ) -> ssl.SSLError | None:
        return None


class PartnerHttp:
    def __init__(
        self, clients: ClientSource | httpx.AsyncClient, credentials: CredentialSource
    ) -> None:
        self._clients = OneClient(clients) if isinstance(clients, httpx.AsyncClient) else clients
        self._credentials = credentials
        self._refresh = TokenRefresh(credentials)

    async def post(
        self,
        partner: PartnerState,
        headers: dict[str, str],
        body: Body,
        *,
        identity: ClientIdentity | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> PostResult:
        """POST to the partner with its client (or ``client``: the connection test's own);
        ``identity``: our TLS client certificate, for a partner whose TLS settings want it."""
        if not partner.tls.verify:
            log.warning(
                "TLS verification is off for partner %s (%s): its server is not authenticated; "
                "for a test partner only",
                partner.as2_id,
                safe_url(partner.as2_url),
            )
        try:
            if client is not None:
                return await self._post(client, partner, identity, headers, body)
            async with self._clients.lease(partner, identity) as leased:
                return await self._post(leased, partner, identity, headers, body)
        except TlsSetupError as err:
            return PostResult(None, f"TLS: {err}; not retried", retryable=False)

    async def _post(
        self,
        client: httpx.AsyncClient,
        partner: PartnerState,
        identity: ClientIdentity | None,
        headers: dict[str, str],
        body: Body,
    ) -> PostResult:
        try:
            creds = Credentials()
            if partner.http_auth.type != "none":
                creds = await self._credentials.get(partner.id)
            result = await self._attempt(client, partner, identity, creds, headers, body)
            auth = partner.http_auth
            if not (result.auth_failed and isinstance(auth, TokenAuthPublic) and auth.refresh):
                return result
            fresh, refresh_error = await self._refresh.refreshed(client, partner, creds)
        except CredentialsUnavailableError as err:
            return PostResult(None, str(err), retryable=True)
        if fresh is None:
            error = f"{result.error}; token refresh failed: {refresh_error}"
            return PostResult(result.response, error, retryable=False, auth_failed=True)
        return await self._attempt(client, partner, identity, fresh, headers, body)

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        partner: PartnerState,
        identity: ClientIdentity | None,
        creds: Credentials,
        headers: dict[str, str],
        body: Body,
    ) -> PostResult:
        """One POST, and the redirects the partner's settings allow following (each one the
        same message again: a 307/308 keeps the body)."""
        url, hops = partner.as2_url, 0
        while True:
            # Credentials go only where the partner's URL points: not to another origin.
            sent_as = partner if same_origin(url, partner.as2_url) else _without_auth(partner)
            result = await self._exchange(client, sent_as, identity, url, creds, headers, body)
            response = result.response
            if response is None or not 300 <= response.status_code < 400 or result.auth_failed:
                if hops and result.error is None:
                    return replace(result, redirected_to=safe_url(url))
                return result
            url_next, refusal = next_hop(partner, url, response, hops)
            if url_next is None:
                return PostResult(response, refusal, retryable=False)
            log.info(
                "%s redirected %s to %s (HTTP %d): following",
                partner.as2_id,
                safe_url(url),
                safe_url(url_next),
                response.status_code,
            )
            url, hops = url_next, hops + 1

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        partner: PartnerState,
        identity: ClientIdentity | None,
        url: str,
        creds: Credentials,
        headers: dict[str, str],
        body: Body,
    ) -> PostResult:
        request = authenticated_request(partner, creds, headers, body)
        target = safe_url(url)
        auth_flow = request.pop("auth", httpx.USE_CLIENT_DEFAULT)
        try:
            # Redirects are followed (or not) by _attempt, never by httpx: see redirects.py.
            response = await client.send(
                client.build_request("POST", url, **request),
                auth=auth_flow,
                follow_redirects=False,
                stream=True,  # the head first: an answer broken off after it is told apart
            )
        except httpx.ReadTimeout:
            wait = client.timeout.read
            reason = f"timed out posting to {target}: no answer within {wait:g} s{MAY_HAVE_IT}"
            return PostResult(None, reason, retryable=True)
        except httpx.TimeoutException as err:
            return PostResult(None, f"timed out posting to {target} ({type(err).__name__})", True)
        except (httpx.TransportError, ssl.SSLError) as err:
            # An alert after the handshake (TLS 1.3: "certificate required") comes on the
            # first read, from the ssl module itself: httpcore does not wrap it; or it is lost
            # when the server closes under our request, and asking again finds it.
            if isinstance(err, _DROPPED):
                err = await self._clients.refusal(partner, identity) or err
            return connection_failed(partner, target, err, _proxy_shown(partner))
        except httpx.RequestError as err:
            return PostResult(None, f"posting to {target} failed: {type(err).__name__}", False)
        status = response.status_code
        try:
            await response.aread()
        except (httpx.RequestError, ssl.SSLError) as err:
            reason = (
                f"{target} answered HTTP {status}, then the connection broke off before the "
                f"whole answer ({type(err).__name__}){MAY_HAVE_IT}"
            )
            return PostResult(None, reason, retryable=True, status_of_broken_answer=status)
        finally:
            await response.aclose()
        if auth_failed(partner, response):
            reason = f"authentication failed (HTTP {status} from {target}; {where(partner)})"
            return PostResult(response, reason, retryable=False, auth_failed=True)
        if response.is_success or 300 <= status < 400:  # a redirect: for _attempt to judge
            return PostResult(response, None, retryable=False)
        return PostResult(response, f"HTTP {status} from {target}", retryable_status(status))


#: A connection the server dropped before any answer (under our request, maybe after an alert).
_DROPPED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)

MAY_HAVE_IT = "; the partner may have the message: the retry carries the same Message-ID"


def _without_auth(partner: PartnerState) -> PartnerState:
    return partner.model_copy(update={"http_auth": NoAuth()})


def _proxy_shown(partner: PartnerState) -> str | None:
    proxy = proxy_for(partner)
    return safe_url(proxy).rstrip("/") if proxy else None
