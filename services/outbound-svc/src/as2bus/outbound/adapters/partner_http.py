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
query.

What a partner may do wrong, and the result (docs/reliability.md, "Misbehaving partners"):
no connection, no answer in time, or a connection broken off before the whole answer is
retryable (the reason says when the partner may have the message: every attempt carries the
same Message-ID). A redirect (3xx) is never followed: the message is signed for, and its
MDN asked by, the partner at its configured URL, and an HTTP client following a 301/302 with a
POST may turn it into a GET; it fails with a reason that says to correct the URL. A TLS
certificate we do not trust (expired, self-signed, for another host name) fails at once with
a reason naming TLS; another TLS handshake failure is retried.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from as2bus.contracts import BasicAuthPublic, PartnerState, TokenAuthPublic
from as2bus.outbound.adapters.credentials import (
    Credentials,
    CredentialSource,
    CredentialsUnavailableError,
)
from as2bus.outbound.domain import retryable_status
from as2bus.outbound.posting import Body, PostResult

_MISSING = object()
_PART_HEADERS = {"content-type", "content-transfer-encoding"}


def json_path(document: Any, path: str) -> Any:
    """The value at a dotted path (list items by index), or ``_MISSING``."""
    for key in path.split("."):
        if isinstance(document, dict) and key in document:
            document = document[key]
        elif isinstance(document, list) and key.isdigit() and int(key) < len(document):
            document = document[int(key)]
        else:
            return _MISSING
    return document


def auth_failed(partner: PartnerState, response: httpx.Response) -> bool:
    if response.status_code in (401, 403):
        return True
    detection = partner.auth_failure
    if detection is None:
        return False
    if detection.status_code is not None and response.status_code == detection.status_code:
        return True
    if not detection.path:
        return False
    if response.is_success and "json" not in response.headers.get("content-type", ""):
        return False  # a 2xx MDN or plain "OK" is never read as an error document
    try:
        found = json_path(response.json(), detection.path)
    except ValueError:  # not JSON (UnicodeDecodeError is a ValueError too)
        return False
    if found is _MISSING:
        return False
    text = found if isinstance(found, str) else json.dumps(found)
    return not detection.values or text in detection.values


def safe_url(url: str) -> str:
    """The URL for messages: no user info, no query, no fragment."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def where(partner: PartnerState) -> str:
    auth = partner.http_auth
    if isinstance(auth, TokenAuthPublic):
        return {
            "header": f"token in header {auth.header_name!r}",
            "query": f"token in query parameter {auth.param_name!r}",
            "body": f"token in form field {auth.body_field!r}",
        }[auth.placement]
    return f"{auth.type} authentication"


class PartnerHttp:
    def __init__(self, client: httpx.AsyncClient, credentials: CredentialSource) -> None:
        self._client = client
        self._credentials = credentials
        self._refreshing: dict[uuid.UUID, asyncio.Lock] = {}

    async def post(self, partner: PartnerState, headers: dict[str, str], body: Body) -> PostResult:
        try:
            creds = Credentials()
            if partner.http_auth.type != "none":
                creds = await self._credentials.get(partner.id)
            result = await self._attempt(partner, creds, headers, body)
            auth = partner.http_auth
            if not (result.auth_failed and isinstance(auth, TokenAuthPublic) and auth.refresh):
                return result
            fresh, refresh_error = await self._refreshed(partner, creds)
        except CredentialsUnavailableError as err:
            return PostResult(None, str(err), retryable=True)
        if fresh is None:
            error = f"{result.error}; token refresh failed: {refresh_error}"
            return PostResult(result.response, error, retryable=False, auth_failed=True)
        return await self._attempt(partner, fresh, headers, body)

    async def _attempt(
        self,
        partner: PartnerState,
        creds: Credentials,
        headers: dict[str, str],
        body: Body,
    ) -> PostResult:
        request: dict[str, Any] = {"headers": dict(headers), "content": body}
        auth = partner.http_auth
        if isinstance(auth, BasicAuthPublic):
            request["auth"] = httpx.BasicAuth(auth.username, creds.password or "")
        elif isinstance(auth, TokenAuthPublic):
            token = creds.token or ""
            if auth.placement == "header":
                value = f"{auth.scheme} {token}" if auth.scheme else token
                request["headers"][auth.header_name] = value
            elif auth.placement == "query":
                request["params"] = {auth.param_name: token}
            else:
                if not isinstance(body, bytes):
                    raise TypeError("a token in the body needs the message in memory")
                del request["content"]
                request.update(_form(headers, body, auth.body_field, token))
        target = safe_url(partner.as2_url)
        auth_flow = request.pop("auth", httpx.USE_CLIENT_DEFAULT)
        try:
            # Redirects are never followed: see the module's docstring.
            response = await self._client.send(
                self._client.build_request("POST", partner.as2_url, **request),
                auth=auth_flow,
                follow_redirects=False,
                stream=True,  # the head first: an answer broken off after it is told apart
            )
        except httpx.ReadTimeout:
            wait = self._client.timeout.read
            reason = f"timed out posting to {target}: no answer within {wait:g} s{MAY_HAVE_IT}"
            return PostResult(None, reason, retryable=True)
        except httpx.TimeoutException as err:
            return PostResult(None, f"timed out posting to {target} ({type(err).__name__})", True)
        except httpx.TransportError as err:
            return _transport_error(target, err)
        except httpx.RequestError as err:
            return PostResult(None, f"posting to {target} failed: {type(err).__name__}", False)
        status = response.status_code
        try:
            await response.aread()
        except httpx.RequestError as err:
            reason = (
                f"{target} answered HTTP {status}, then the connection broke off before the "
                f"whole answer ({type(err).__name__}){MAY_HAVE_IT}"
            )
            return PostResult(None, reason, retryable=True)
        finally:
            await response.aclose()
        if auth_failed(partner, response):
            reason = f"authentication failed (HTTP {status} from {target}; {where(partner)})"
            return PostResult(response, reason, retryable=False, auth_failed=True)
        if response.is_success:
            return PostResult(response, None, retryable=False)
        if 300 <= status < 400:
            return PostResult(response, _redirected(partner, response), retryable=False)
        return PostResult(response, f"HTTP {status} from {target}", retryable_status(status))

    async def _refreshed(
        self, partner: PartnerState, used: Credentials
    ) -> tuple[Credentials | None, str | None]:
        """Credentials with a new token, refreshed once even when many sends were refused."""
        async with self._refreshing.setdefault(partner.id, asyncio.Lock()):
            current = await self._credentials.get(partner.id)
            if current.token and current.token != used.token:
                return (
                    current,
                    None,
                )  # another send refreshed it (or the partner changed)
            refreshed, error = await self._refresh(partner, current)
            if refreshed is None:
                return None, error
            token, refresh_token = refreshed
            self._credentials.remember_token(partner.id, token, refresh_token)
            return replace(current, token=token, refresh_token=refresh_token), None

    async def _refresh(
        self, partner: PartnerState, creds: Credentials
    ) -> tuple[tuple[str, str | None] | None, str | None]:
        """((new token, refresh token to use next), None), or (None, why not)."""
        auth = partner.http_auth
        if not isinstance(auth, TokenAuthPublic) or auth.refresh is None:
            return None, "no token refresh configured"
        refresh = auth.refresh
        url = urljoin(partner.as2_url, refresh.uri)
        payload = {"refresh_token": creds.refresh_token or ""}
        kwargs: dict[str, Any] = {"headers": dict(creds.refresh_headers)}
        if refresh.method == "GET":
            kwargs["params"] = payload
        elif "json" in refresh.media_type.lower():
            kwargs["json"] = payload
        else:
            kwargs["data"] = payload
        try:
            response = await self._client.request(refresh.method, url, **kwargs)
        except httpx.HTTPError as err:
            return None, f"{type(err).__name__} calling {safe_url(url)}"
        if not response.is_success:
            return None, f"{safe_url(url)} answered HTTP {response.status_code}"
        try:
            answer = response.json()
        except ValueError:
            return None, f"{safe_url(url)} did not answer JSON"
        token = json_path(answer, refresh.token_path)
        if not isinstance(token, str) or not token:
            return None, f"no token at {refresh.token_path!r} in the refresh answer"
        rotated = json_path(answer, "refresh_token")
        keep = rotated if isinstance(rotated, str) and rotated else creds.refresh_token
        return (token, keep), None


MAY_HAVE_IT = "; the partner may have the message: the retry carries the same Message-ID"


def _redirected(partner: PartnerState, response: httpx.Response) -> str:
    location = response.headers.get("location")
    to = "a redirect"
    if location:
        to += f" to {safe_url(urljoin(partner.as2_url, location))}"
    return (
        f"HTTP {response.status_code} from {safe_url(partner.as2_url)}: {to}, not followed (a "
        "signed message is posted only to the partner's URL as configured); correct the "
        "partner's URL if it has moved"
    )


def _transport_error(target: str, err: httpx.TransportError) -> PostResult:
    """No answer: the connection could not be made or broke before any answer. A TLS
    certificate we do not trust will not change by itself: not retried."""
    tls = _ssl_error(err)
    if isinstance(tls, ssl.SSLCertVerificationError):
        why = tls.verify_message or tls.reason or str(tls)
        reason = (
            f"TLS: the certificate of {target} is not trusted ({why}); not retried: the "
            "partner must fix its certificate (or the URL its host name), or its CA be added "
            "with AS2BUS_OUTBOUND_CA_BUNDLE"
        )
        return PostResult(None, reason, retryable=False)
    if tls is not None:
        reason = f"TLS handshake with {target} failed: {tls.reason or type(tls).__name__}"
        return PostResult(None, reason, retryable=True)
    return PostResult(None, f"could not reach {target}: {type(err).__name__}", retryable=True)


def _ssl_error(err: BaseException) -> ssl.SSLError | None:
    """The TLS error under httpx's (httpx wraps httpcore's, which wraps the ssl module's)."""
    seen: BaseException | None = err
    for _ in range(8):  # a chain of causes is short; never loop on a cycle
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _form(headers: dict[str, str], body: bytes, field: str, token: str) -> dict[str, Any]:
    """The request parts for a token "in the body": a multipart form around the AS2 body."""
    outer = {k: v for k, v in headers.items() if not k.lower().startswith("content-")}
    part = {k: v for k, v in headers.items() if k.lower() in _PART_HEADERS}
    if not any(k.lower() == "content-type" for k in part):
        part["Content-Type"] = "application/octet-stream"
    return {
        "headers": outer,
        "data": {field: token},
        "files": {"message": ("message", body, None, part)},
    }
