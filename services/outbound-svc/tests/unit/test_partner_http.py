"""PartnerHttp against httpx.MockTransport: where each credential goes, failure detection,
token refresh, what is retried, and that no secret reaches an error."""

from __future__ import annotations

import asyncio
import base64
import email.parser
import email.policy
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import httpx
import pytest

from as2bus.as2 import LocalParty, RemoteParty
from as2bus.as2.headers import USER_AGENT
from as2bus.as2.message import post_headers
from as2bus.as2.streaming import Encoder, Frame, StreamPlan
from as2bus.contracts import PartnerState
from as2bus.outbound.adapters.credentials import (
    Credentials,
    CredentialsUnavailableError,
)
from as2bus.outbound.adapters.partner_http import PartnerHttp
from as2bus.outbound.posting import PostResult, Upload

BODY = b"\x00AS2 body\r\n\xff"
AS2_HEADERS = {
    "AS2-From": "myco",
    "Content-Type": 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
    "Content-Transfer-Encoding": "binary",
    "Content-Disposition": 'attachment; filename="smime.p7m"',
}
SECRETS = Credentials("pw-SECRET", "tok-SECRET", "refresh-SECRET", {"X-Client": "hdr-SECRET"})
Handler = Callable[[httpx.Request], httpx.Response]


class Source:
    def __init__(self, creds: Credentials = SECRETS, error: str | None = None) -> None:
        self.creds, self.error, self.asked = creds, error, 0

    async def get(self, partner_id: uuid.UUID) -> Credentials:
        self.asked += 1
        if self.error:
            raise CredentialsUnavailableError(self.error)
        return self.creds

    def remember_token(
        self, partner_id: uuid.UUID, token: str, refresh_token: str | None = None
    ) -> None:
        self.creds = Credentials(
            self.creds.password, token, refresh_token or self.creds.refresh_token
        )


def partner(http_auth: dict[str, Any] | None = None, **extra: Any) -> PartnerState:
    now = datetime.now(UTC)
    fields = {"id": uuid.uuid4(), "revision": 1, "as2_id": "acme", "name": "Acme"}
    return PartnerState.model_validate(
        {
            **fields,
            "as2_alias": "acme",
            "as2_url": "https://as2.acme.example/gw/as2",
            "http_auth": http_auth or {"type": "none"},
            "created_at": now,
            "updated_at": now,
            **extra,
        }
    )


def token(placement: str = "header", **extra: Any) -> dict[str, Any]:
    return {"type": "token", "placement": placement, "token_set": True, **extra}


REFRESH = {
    "uri": "../oauth/token",
    "token_path": "data.token",
    "refresh_token_set": True,
}


async def post(
    handler: Handler, target: PartnerState, source: Source | None = None
) -> tuple[PostResult, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        result = await PartnerHttp(client, source or Source()).post(target, AS2_HEADERS, BODY)
    return result, seen


def ok(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="ok")


def status(code: int, **kw: Any) -> Handler:
    return lambda _: httpx.Response(code, **kw)


async def test_no_auth_asks_for_no_credentials() -> None:
    source = Source(error="must not be asked")
    result, seen = await post(ok, partner(), source)
    assert (result.error, source.asked) == (None, 0)
    assert seen[0].content == BODY
    assert seen[0].headers["content-type"] == AS2_HEADERS["Content-Type"]


async def test_basic_and_header_tokens() -> None:
    basic = {"type": "basic", "username": "acme", "password_set": True}
    _, seen = await post(ok, partner(basic))
    expected = "Basic " + base64.b64encode(b"acme:pw-SECRET").decode()
    assert seen[0].headers["authorization"] == expected
    _, seen = await post(ok, partner(token()))
    assert seen[0].headers["authorization"] == "Bearer tok-SECRET"
    _, seen = await post(ok, partner(token(header_name="X-Api-Key", scheme="Token")))
    assert seen[0].headers["x-api-key"] == "Token tok-SECRET"
    assert "authorization" not in seen[0].headers
    _, seen = await post(ok, partner(token(header_name="X-Key", scheme="")))
    assert seen[0].headers["x-key"] == "tok-SECRET"
    assert seen[0].content == BODY


async def test_query_token() -> None:
    _, seen = await post(ok, partner(token("query", param_name="key")))
    assert seen[0].url.params["key"] == "tok-SECRET"
    assert seen[0].url.path == "/gw/as2"
    assert seen[0].content == BODY


def form_parts(request: httpx.Request) -> dict[str, Message]:
    raw = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.content
    form = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    parts: dict[str, Message] = {}
    for part in form.get_payload():
        assert isinstance(part, Message)
        parts[str(part.get_param("name", header="content-disposition"))] = part
    return parts


async def test_body_token_is_a_form_field_beside_the_as2_body_as_a_file_part() -> None:
    result, seen = await post(ok, partner(token("body", body_field="auth_token")))
    assert result.error is None
    request = seen[0]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.headers["as2-from"] == "myco"
    assert "content-transfer-encoding" not in request.headers
    parts = form_parts(request)
    assert parts["auth_token"].get_payload(decode=True) == b"tok-SECRET"
    message = parts["message"]
    assert message["Content-Type"] == AS2_HEADERS["Content-Type"]
    assert message["Content-Transfer-Encoding"] == "binary"
    assert message.get_payload(decode=True) == BODY


@pytest.mark.parametrize(
    ("handler", "detection"),
    [
        (status(401), None),
        (status(403), None),
        (status(400), {"status_code": 400}),
        (
            status(400, json={"error": {"code": "BAD_TOKEN"}}),
            {"path": "error.code", "values": ["BAD_TOKEN"]},
        ),
        (
            status(500, json={"errors": [{"auth": True}]}),
            {"path": "errors.0.auth", "values": ["true"]},
        ),
        (status(422, json={"authError": None}), {"path": "authError"}),
        (  # a gateway that answers 200 with an error document
            status(200, json={"status": "error", "reason": "TOKEN_EXPIRED"}),
            {"path": "reason", "values": ["TOKEN_EXPIRED"]},
        ),
    ],
)
async def test_authentication_failures_are_recognised(
    handler: Handler, detection: dict[str, Any] | None
) -> None:
    result, _ = await post(handler, partner(token(), auth_failure=detection))
    assert (result.auth_failed, result.retryable) == (True, False)
    assert "authentication failed" in (result.error or "")
    assert "token in header 'Authorization'" in (result.error or "")


@pytest.mark.parametrize(
    ("handler", "detection"),
    [
        (
            status(400, json={"error": {"code": "OTHER"}}),
            {"path": "error.code", "values": ["BAD"]},
        ),
        (status(400, json={"error": "BAD"}), {"path": "error.code"}),
        (status(400, text="BAD not json"), {"path": "error"}),
        (status(400), {"status_code": 402}),
    ],
)
async def test_other_refusals_are_not_authentication_failures(
    handler: Handler, detection: dict[str, Any]
) -> None:
    result, _ = await post(handler, partner(token(), auth_failure=detection))
    assert (result.auth_failed, result.retryable) == (False, False)
    assert result.error == "HTTP 400 from https://as2.acme.example/gw/as2"


def refreshing_partner(seen_refreshes: list[httpx.Request], answer: httpx.Response) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            seen_refreshes.append(request)
            return answer
        good = request.headers.get("authorization") == "Bearer tok-NEW"
        return httpx.Response(200 if good else 401)

    return handler


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("application/json", b'{"refresh_token":"refresh-SECRET"}'),
        ("application/x-www-form-urlencoded", b"refresh_token=refresh-SECRET"),
    ],
)
async def test_a_refused_token_is_refreshed_and_the_post_retried(
    media_type: str, body: bytes
) -> None:
    refreshes: list[httpx.Request] = []
    answer = httpx.Response(200, json={"data": {"token": "tok-NEW"}})
    source = Source()
    target = partner(token(refresh={**REFRESH, "media_type": media_type}))
    result, seen = await post(refreshing_partner(refreshes, answer), target, source)
    assert result.response is not None
    assert (result.response.status_code, result.error, result.auth_failed) == (
        200,
        None,
        False,
    )
    assert [r.url.path for r in seen] == ["/gw/as2", "/oauth/token", "/gw/as2"]
    (refresh,) = refreshes
    assert str(refresh.url) == "https://as2.acme.example/oauth/token"
    assert refresh.method == "POST"
    assert refresh.content.replace(b" ", b"") == body
    assert refresh.headers["x-client"] == "hdr-SECRET"
    assert source.creds.token == "tok-NEW"  # remembered


async def test_concurrent_refusals_refresh_once() -> None:
    refreshes: list[httpx.Request] = []
    answer = httpx.Response(200, json={"data": {"token": "tok-NEW"}})
    handler = refreshing_partner(refreshes, answer)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # let the five sends overlap
        return handler(request)

    target, source = partner(token(refresh=REFRESH)), Source()
    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
        http = PartnerHttp(client, source)
        results = await asyncio.gather(*(http.post(target, {}, BODY) for _ in range(5)))
    assert all(r.error is None for r in results)
    assert len(refreshes) == 1


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            httpx.Response(400, json={"error": "invalid_grant refresh-SECRET"}),
            "answered HTTP 400",
        ),
        (httpx.Response(200, json={"data": {}}), "no token at 'data.token'"),
        (httpx.Response(200, text="tok-NEW"), "did not answer JSON"),
    ],
)
async def test_a_failed_refresh_is_an_authentication_failure(
    answer: httpx.Response, why: str
) -> None:
    refreshes: list[httpx.Request] = []
    target = partner(token(refresh=REFRESH))
    result, seen = await post(refreshing_partner(refreshes, answer), target)
    assert (result.auth_failed, result.retryable) == (True, False)
    assert "token refresh failed" in (result.error or "")
    assert why in (result.error or "")
    assert "SECRET" not in (result.error or "")
    assert len(seen) == 2  # one POST, one refresh, no retry


async def test_a_new_token_that_is_refused_too_is_not_refreshed_again() -> None:
    refreshes: list[httpx.Request] = []
    answer = httpx.Response(200, json={"data": {"token": "tok-STILL-BAD"}})
    result, seen = await post(
        refreshing_partner(refreshes, answer), partner(token(refresh=REFRESH))
    )
    assert result.auth_failed
    assert len(refreshes) == 1
    assert len(seen) == 3


def raising(error: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


class _BrokenOff(httpx.AsyncByteStream):
    """An answer's body the connection breaks off in."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"half an ans"
        raise httpx.ReadError("connection reset")


def broken_off(code: int) -> Handler:
    return lambda _: httpx.Response(code, stream=_BrokenOff())


@pytest.mark.parametrize(
    ("handler", "retryable", "text", "http_status"),
    [
        (status(500), True, "HTTP 500", 500),
        (status(503), True, "HTTP 503", 503),
        (status(408), True, "HTTP 408", 408),
        (status(425), True, "HTTP 425", 425),
        (status(429), True, "HTTP 429", 429),
        (status(400), False, "HTTP 400", 400),
        (status(404), False, "HTTP 404", 404),
        (broken_off(502), True, "answered HTTP 502, then the connection broke off", 502),
        (raising(httpx.ConnectError("refused")), True, "could not reach", None),
        (raising(httpx.ReadTimeout("slow")), True, "timed out", None),
        (raising(httpx.RemoteProtocolError("eof")), True, "could not reach", None),
    ],
)
async def test_what_is_worth_a_retry(
    handler: Handler, retryable: bool, text: str, http_status: int | None
) -> None:
    """And the status the partner answered with, for the events (None: it did not answer)."""
    result, _ = await post(handler, partner(token("query", param_name="key")))
    assert (result.retryable, result.auth_failed) == (retryable, False)
    assert text in (result.error or "")
    assert result.http_status == http_status


async def test_no_secret_reaches_an_error() -> None:
    url = "https://user:url-SECRET@as2.acme.example/gw/as2?sig=query-SECRET"
    for auth in (token("query", param_name="key"), token(), token("body")):
        for handler in (status(401), status(500), raising(httpx.ConnectError("x"))):
            result, _ = await post(handler, partner(auth, as2_url=url))
            assert result.error is not None
            assert "SECRET" not in result.error, result.error
            assert "as2.acme.example/gw/as2" in result.error
    refused, _ = await post(status(401), partner(token("query", param_name="key")))
    assert "token in query parameter 'key'" in (refused.error or "")


async def test_unavailable_credentials_are_retried_later() -> None:
    source = Source(error="config-svc did not answer for partner credentials (TimeoutError)")
    result, seen = await post(ok, partner(token()), source)
    assert (result.response, result.retryable, seen) == (None, True, [])
    assert "did not answer" in (result.error or "")


def test_credentials_do_not_print_their_secrets() -> None:
    assert "SECRET" not in repr(SECRETS)
    assert "SECRET" not in str(SECRETS)


async def test_a_get_refresh_sends_the_refresh_token_as_query_parameters() -> None:
    refreshes: list[httpx.Request] = []
    answer = httpx.Response(200, json={"data": {"token": "tok-NEW"}})
    target = partner(token(refresh={**REFRESH, "method": "GET"}))
    result, _ = await post(refreshing_partner(refreshes, answer), target)
    assert (result.error, refreshes[0].method, refreshes[0].content) == (
        None,
        "GET",
        b"",
    )
    assert refreshes[0].url.params["refresh_token"] == "refresh-SECRET"


async def test_a_2xx_answer_that_is_not_json_is_never_read_as_an_error_document() -> None:
    mdn = status(200, headers={"content-type": "multipart/signed"}, content=b'{"reason": "x"}')
    result, _ = await post(mdn, partner(token(), auth_failure={"path": "reason"}))
    assert (result.error, result.auth_failed) == (None, False)
    other = status(200, json={"status": "ok"})
    result, _ = await post(other, partner(token(), auth_failure={"path": "reason"}))
    assert (result.error, result.auth_failed) == (None, False)


async def test_a_rotated_refresh_token_is_used_for_the_next_refresh() -> None:
    sent_refresh_tokens: list[str] = []
    tokens = iter(["tok-1", "tok-2"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            sent_refresh_tokens.append(request.read().decode())
            new = next(tokens)
            return httpx.Response(200, json={"data": {"token": new}, "refresh_token": f"r-{new}"})
        return httpx.Response(401)  # every token is refused: each post refreshes once

    source = Source()
    target = partner(token(refresh=REFRESH))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        http = PartnerHttp(client, source)
        await http.post(target, AS2_HEADERS, BODY)
        await http.post(target, AS2_HEADERS, BODY)
    assert '"refresh-SECRET"' in sent_refresh_tokens[0]  # the stored one, first
    assert '"r-tok-1"' in sent_refresh_tokens[1]  # then the one the partner rotated to
    assert source.creds.refresh_token == "r-tok-2"


async def test_a_streamed_body_is_sent_whole_again_after_a_token_refresh() -> None:
    """An Upload is read afresh for the retry: both POSTs carry the whole body, with the
    exact Content-Length and no chunked encoding."""
    chunks = [b"ISA*00~\r\n" * 1000, b"\x00\xff" * 70_000, b"SE*2~\r\n"]
    reads = 0

    async def document() -> AsyncIterator[bytes]:
        nonlocal reads
        reads += 1
        for chunk in chunks:
            yield chunk

    expected = b"head\r\n" + b"".join(chunks) + b"\r\ntail"
    plan = StreamPlan(
        message_id="<m@x>",
        headers={**AS2_HEADERS, "Content-Length": str(len(expected))},
        length=len(expected),
        mic_alg=None,
        _new_encoder=lambda: Encoder([Frame(b"head\r\n", b"\r\ntail")]),
    )
    bodies: list[tuple[bytes, str | None, str | None]] = []
    refreshes: list[httpx.Request] = []
    refreshing = refreshing_partner(
        refreshes, httpx.Response(200, json={"data": {"token": "tok-NEW"}})
    )

    async def record(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/oauth/token":
            content = await request.aread()
            meta = (request.headers.get("content-length"), request.headers.get("transfer-encoding"))
            bodies.append((content, *meta))
        return refreshing(request)

    target = partner(token(refresh=REFRESH))
    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        result = await PartnerHttp(client, Source()).post(
            target, plan.headers, Upload(plan, document)
        )
    assert result.response is not None
    assert result.response.status_code == 200
    assert bodies == [(expected, str(len(expected)), None)] * 2
    assert (reads, len(refreshes)) == (2, 1)


async def test_our_user_agent_reaches_the_partner_not_httpx_s() -> None:
    """The codec's POST headers carry ``User-Agent: as2bus/<version>``; httpx sends its own
    only for a request without one, so ours must go through untouched (form posts too)."""
    _, headers = post_headers(
        LocalParty("myco", signing=None), RemoteParty("acme"), None, "AS2 Message", "myco"
    )
    assert headers["User-Agent"] == USER_AGENT
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        for auth in (None, token("body", body_field="auth_token")):
            await PartnerHttp(client, Source()).post(
                partner(auth), {**AS2_HEADERS, **headers}, BODY
            )
    assert [request.headers.get_list("user-agent") for request in seen] == [[USER_AGENT]] * 2
    assert USER_AGENT.startswith("as2bus/")
