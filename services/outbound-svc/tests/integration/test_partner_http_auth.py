"""Every HTTP authentication mode against a real server on loopback that checks the
credentials, a token refresh, failure detection and what is worth a retry."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from as2bus.contracts import PartnerState
from as2bus.outbound.adapters.credentials import Credentials
from as2bus.outbound.adapters.partner_http import PartnerHttp
from as2bus.testing.infra import free_port
from as2bus.testing.waiting import until_sync

BODY = b"AS2-BODY-BYTES"


class Partner:
    """The partner's web server: accepts only the right credentials, as each mode carries them."""

    def __init__(self) -> None:
        self.token = "tok-1"
        self.seen: list[str] = []
        self.refreshes = 0
        self.fail_next = 0

        async def as2(request: Request) -> Response:
            mode = request.path_params["mode"]
            self.seen.append(mode)
            if self.fail_next:
                self.fail_next -= 1
                return Response(status_code=503)
            if mode == "detect":  # a gateway that reports bad credentials in a JSON body
                return JSONResponse({"error": {"code": "BAD_CREDENTIALS"}}, status_code=400)
            if mode == "body":
                ok = await self._form_ok(request)
            else:
                basic = "Basic " + base64.b64encode(b"acme:pw-9").decode()
                ok = (await request.body()) == BODY and {
                    "basic": request.headers.get("authorization") == basic,
                    "header": request.headers.get("x-api-key") == f"Token {self.token}",
                    "query": request.query_params.get("key") == self.token,
                }[mode]
            return Response(b"ok") if ok else Response(status_code=401)

        async def refresh(request: Request) -> Response:
            payload = await request.json()
            if payload.get("refresh_token") != "r-1" or request.headers.get("x-client") != "c-1":
                return Response(status_code=400)
            self.refreshes += 1
            self.token = "tok-2"
            return JSONResponse({"data": {"access_token": "tok-2"}})

        routes = [
            Route("/as2/{mode}", as2, methods=["POST"]),
            Route("/oauth/token", refresh, methods=["POST"]),
        ]
        self.port = free_port()
        config = uvicorn.Config(
            Starlette(routes=routes),
            port=self.port,
            log_level="warning",
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        until_sync(lambda: self.server.started, what="the partner's web server", interval=0.01)

    async def _form_ok(self, request: Request) -> bool:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return False
        async with request.form() as form:
            message = form.get("message")
            data = await message.read() if isinstance(message, UploadFile) else b""
            return form.get("auth_token") == self.token and data == BODY

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.port}/as2/{mode}"


@pytest.fixture(scope="module")
def partner_server() -> Iterator[Partner]:
    server = Partner()
    yield server
    server.server.should_exit = True
    server.thread.join(timeout=10)


class Source:
    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self.remembered: str | None = None

    async def get(self, partner_id: uuid.UUID) -> Credentials:
        if self.remembered:
            return Credentials(
                self.creds.password,
                self.remembered,
                self.creds.refresh_token,
                self.creds.refresh_headers,
            )
        return self.creds

    def remember_token(
        self, partner_id: uuid.UUID, token: str, refresh_token: str | None = None
    ) -> None:
        self.remembered = token


def partner(url: str, http_auth: dict[str, Any], **extra: Any) -> PartnerState:
    now = datetime.now(UTC)
    return PartnerState.model_validate(
        {
            "id": uuid.uuid4(),
            "revision": 1,
            "as2_id": "acme",
            "name": "Acme",
            "as2_alias": "acme",
            "as2_url": url,
            "http_auth": http_auth,
            "created_at": now,
            "updated_at": now,
            **extra,
        }
    )


CASES = [
    ("basic", {"type": "basic", "username": "acme", "password_set": True}),
    (
        "header",
        {
            "type": "token",
            "placement": "header",
            "header_name": "X-Api-Key",
            "scheme": "Token",
            "token_set": True,
        },
    ),
    (
        "query",
        {"type": "token", "placement": "query", "param_name": "key", "token_set": True},
    ),
    (
        "body",
        {
            "type": "token",
            "placement": "body",
            "body_field": "auth_token",
            "token_set": True,
        },
    ),
]


@pytest.mark.parametrize(("mode", "auth"), CASES)
async def test_each_mode_carries_the_credential_where_the_partner_checks_it(
    partner_server: Partner, mode: str, auth: dict[str, Any]
) -> None:
    partner_server.token = "tok-1"
    async with httpx.AsyncClient() as client:
        right = PartnerHttp(client, Source(Credentials(password="pw-9", token="tok-1")))
        result = await right.post(
            partner(partner_server.url(mode), auth),
            {"Content-Type": "application/pkcs7-mime"},
            BODY,
        )
        assert result.response is not None
        assert result.response.status_code == 200, result
        wrong = PartnerHttp(client, Source(Credentials(password="nope", token="nope")))
        refused = await wrong.post(
            partner(partner_server.url(mode), auth), {"Content-Type": "x"}, BODY
        )
    assert refused.auth_failed
    assert not refused.retryable
    assert "nope" not in (refused.error or "")


async def test_a_rejected_token_is_refreshed_once_and_the_post_retried(
    partner_server: Partner,
) -> None:
    partner_server.token = "tok-1"
    refresh = {
        "uri": "/oauth/token",
        "token_path": "data.access_token",
        "header_names": ["X-Client"],
        "refresh_token_set": True,
    }
    auth = {
        "type": "token",
        "placement": "header",
        "header_name": "X-Api-Key",
        "scheme": "Token",
        "token_set": True,
        "refresh": refresh,
    }
    source = Source(
        Credentials(token="expired", refresh_token="r-1", refresh_headers={"X-Client": "c-1"})
    )
    partner_server.seen.clear()
    partner_server.refreshes = 0
    async with httpx.AsyncClient() as client:
        result = await PartnerHttp(client, source).post(
            partner(partner_server.url("header"), auth), {}, BODY
        )
    assert result.response is not None
    assert result.response.status_code == 200
    assert (result.error, result.auth_failed) == (None, False)
    assert source.remembered == "tok-2"
    # refused with the old token, one refresh, accepted with the new one
    assert (partner_server.seen, partner_server.refreshes) == (["header", "header"], 1)


async def test_a_refused_refresh_is_an_authentication_failure(
    partner_server: Partner,
) -> None:
    partner_server.token = "tok-1"
    refresh = {"uri": "../oauth/token", "refresh_token_set": True}
    auth = {
        "type": "token",
        "placement": "query",
        "param_name": "key",
        "token_set": True,
    }
    source = Source(Credentials(token="expired-tok", refresh_token="revoked-refresh"))
    async with httpx.AsyncClient() as client:
        result = await PartnerHttp(client, source).post(
            partner(partner_server.url("query"), {**auth, "refresh": refresh}), {}, BODY
        )
    assert (result.auth_failed, result.retryable, source.remembered) == (
        True,
        False,
        None,
    )
    assert "token refresh failed" in (result.error or "")
    assert "/oauth/token answered HTTP 400" in (result.error or "")
    assert "expired-tok" not in (result.error or "")
    assert "revoked-refresh" not in (result.error or "")


async def test_failure_detection_by_json_path_and_retry_classification(
    partner_server: Partner,
) -> None:
    detect = {"path": "error.code", "values": ["BAD_CREDENTIALS"]}
    async with httpx.AsyncClient() as client:
        http = PartnerHttp(client, Source(Credentials()))
        detected = await http.post(
            partner(partner_server.url("detect"), {"type": "none"}, auth_failure=detect),
            {},
            BODY,
        )
        assert detected.auth_failed
        partner_server.fail_next = 1
        busy = await http.post(partner(partner_server.url("query"), {"type": "none"}), {}, BODY)
        assert (busy.retryable, busy.auth_failed) == (True, False)
        dead = await http.post(
            partner(f"http://127.0.0.1:{free_port()}/as2", {"type": "none"}), {}, BODY
        )
    assert dead.response is None
    assert dead.retryable
    assert "could not reach" in (dead.error or "")
