"""POSTing an AS2 message to a partner, with the partner's HTTP authentication.

Auth modes: basic; a token in a header (name and scheme configurable), in a URL query
parameter, or "in the body". The body is the AS2 message, so a token in the body means a
``multipart/form-data`` wrapper: a field named ``body_field`` with the token and a file part
``message`` holding the AS2 body with its Content-Type (the shape gateways that ask for it use).

An authentication failure is a 401/403, the configured status code, or the configured values
at a path of a JSON answer. With a token refresh configured, one refresh and one retry follow.
Errors never contain a credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from as2bus.outbound.adapters.credentials import Credentials, CredentialSource
from as2bus.outbound.domain import retryable_status
from as2bus.shared.contracts import PartnerState, TokenAuthPublic


@dataclass(frozen=True)
class PostResult:
    response: httpx.Response | None
    error: str | None
    retryable: bool
    auth_failed: bool = False


def json_path(document: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(document, dict) and key in document:
            document = document[key]
        elif isinstance(document, list) and key.isdigit() and int(key) < len(document):
            document = document[int(key)]
        else:
            return None
    return document


def auth_failed(partner: PartnerState, response: httpx.Response) -> bool:
    detection = partner.auth_failure
    if response.status_code in (401, 403):
        return True
    if detection is None:
        return False
    if detection.status_code is not None and response.status_code == detection.status_code:
        return True
    if detection.path:
        try:
            found = json_path(response.json(), detection.path)
        except ValueError:
            return False
        if found is not None and (not detection.values or str(found) in detection.values):
            return True
    return False


class PartnerHttp:
    def __init__(self, client: httpx.AsyncClient, credentials: CredentialSource) -> None:
        self._client = client
        self._credentials = credentials

    async def post(self, partner: PartnerState, headers: dict[str, str], body: bytes) -> PostResult:
        needs_credentials = partner.http_auth.type != "none"
        creds = await self._credentials.get(partner.id) if needs_credentials else Credentials()
        result = await self._attempt(partner, creds, headers, body)
        auth = partner.http_auth
        if result.auth_failed and isinstance(auth, TokenAuthPublic) and auth.refresh is not None:
            token, error = await self._refresh(partner, creds)
            if token is None:
                return PostResult(
                    result.response,
                    f"authentication failed; token refresh failed: {error}",
                    False,
                    True,
                )
            self._credentials.remember_token(partner.id, token)
            refreshed = Credentials(
                creds.password, token, creds.refresh_token, creds.refresh_headers
            )
            result = await self._attempt(partner, refreshed, headers, body)
        return result

    async def _attempt(
        self, partner: PartnerState, creds: Credentials, headers: dict[str, str], body: bytes
    ) -> PostResult:
        request: dict[str, Any] = {"headers": dict(headers), "content": body}
        auth = partner.http_auth
        if auth.type == "basic":
            request["auth"] = httpx.BasicAuth(auth.username, creds.password or "")
        elif isinstance(auth, TokenAuthPublic):
            token = creds.token or ""
            if auth.placement == "header":
                request["headers"][auth.header_name] = f"{auth.scheme} {token}".strip()
            elif auth.placement == "query":
                request["params"] = {auth.param_name: token}
            else:
                content_type = request["headers"].pop("Content-Type", "application/octet-stream")
                request.pop("content")
                request["data"] = {auth.body_field: token}
                request["files"] = {"message": ("message", body, content_type)}
        try:
            response = await self._client.post(partner.as2_url, **request)
        except httpx.TimeoutException:
            return PostResult(None, f"timed out posting to {partner.as2_url}", True)
        except httpx.TransportError as err:
            return PostResult(
                None, f"could not reach {partner.as2_url}: {type(err).__name__}", True
            )
        if response.is_success:
            return PostResult(response, None, False)
        if auth_failed(partner, response):
            where = self._where(partner)
            return PostResult(
                response,
                f"authentication failed (HTTP {response.status_code}; {where})",
                False,
                True,
            )
        return PostResult(
            response,
            f"HTTP {response.status_code} from {partner.as2_url}",
            retryable_status(response.status_code),
        )

    def _where(self, partner: PartnerState) -> str:
        auth = partner.http_auth
        if isinstance(auth, TokenAuthPublic):
            name = {"header": auth.header_name, "query": auth.param_name, "body": auth.body_field}[
                auth.placement
            ]
            return f"token in {auth.placement} {name!r}"
        return f"{auth.type} authentication"

    async def _refresh(
        self, partner: PartnerState, creds: Credentials
    ) -> tuple[str | None, str | None]:
        auth = partner.http_auth
        assert isinstance(auth, TokenAuthPublic)
        assert auth.refresh is not None
        refresh = auth.refresh
        url = urljoin(partner.as2_url, refresh.uri)
        payload = {"refresh_token": creds.refresh_token or ""}
        kwargs: dict[str, Any] = {"headers": dict(creds.refresh_headers)}
        if refresh.method == "GET":
            kwargs["params"] = payload
        elif "json" in refresh.media_type:
            kwargs["json"] = payload
        else:
            kwargs["data"] = payload
        try:
            response = await self._client.request(refresh.method, url, **kwargs)
        except httpx.HTTPError as err:
            return None, f"{type(err).__name__} calling the refresh endpoint"
        if not response.is_success:
            return None, f"the refresh endpoint answered HTTP {response.status_code}"
        try:
            token = json_path(response.json(), refresh.token_path)
        except ValueError:
            return None, "the refresh endpoint did not answer JSON"
        if not isinstance(token, str) or not token:
            return None, f"no token at {refresh.token_path!r} in the refresh answer"
        return token, None
