"""A partner's HTTP authentication, as outbound-svc sends it (adapters/partner_http.py says
what the modes are): the request's credentials, telling an authentication failure from any
other answer, and refreshing a token once for all the sends it failed."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

import httpx

from as2bus.contracts import BasicAuthPublic, PartnerState, TokenAuthPublic
from as2bus.outbound.adapters.credentials import Credentials, CredentialSource
from as2bus.outbound.posting import Body
from as2bus.shared.partner_tls.errors import safe_url

_MISSING = object()
_PART_HEADERS = {"content-type", "content-transfer-encoding"}


def authenticated_request(
    partner: PartnerState, creds: Credentials, headers: dict[str, str], body: Body
) -> dict[str, Any]:
    """``httpx.AsyncClient.build_request``'s arguments (and ``auth``, for ``send``) for the
    message with the partner's credentials where its settings put them."""
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
    return request


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


def where(partner: PartnerState) -> str:
    auth = partner.http_auth
    if isinstance(auth, TokenAuthPublic):
        return {
            "header": f"token in header {auth.header_name!r}",
            "query": f"token in query parameter {auth.param_name!r}",
            "body": f"token in form field {auth.body_field!r}",
        }[auth.placement]
    return f"{auth.type} authentication"


class TokenRefresh:
    """New tokens for partners whose token authentication has a refresh configured."""

    def __init__(self, credentials: CredentialSource) -> None:
        self._credentials = credentials
        self._refreshing: dict[uuid.UUID, asyncio.Lock] = {}

    async def refreshed(
        self, client: httpx.AsyncClient, partner: PartnerState, used: Credentials
    ) -> tuple[Credentials | None, str | None]:
        """Credentials with a new token, refreshed once even when many sends were refused."""
        async with self._refreshing.setdefault(partner.id, asyncio.Lock()):
            current = await self._credentials.get(partner.id)
            if current.token and current.token != used.token:
                return current, None  # another send refreshed it (or the partner changed)
            refreshed, error = await self._ask(client, partner, current)
            if refreshed is None:
                return None, error
            token, refresh_token = refreshed
            self._credentials.remember_token(partner.id, token, refresh_token)
            return replace(current, token=token, refresh_token=refresh_token), None

    async def _ask(
        self, client: httpx.AsyncClient, partner: PartnerState, creds: Credentials
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
            response = await client.request(refresh.method, url, **kwargs)
        except (httpx.HTTPError, ssl.SSLError) as err:
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
