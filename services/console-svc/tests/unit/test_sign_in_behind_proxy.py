"""The console behind a reverse proxy (an Ingress controller at 10.0.0.0/8): the sign-in
throttle and single sign-on see each client's own address, taken from X-Forwarded-For only
when a trusted proxy sent it (AS2BUS_FORWARDED_ALLOW_IPS), as the process entry installs it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from as2bus.shared.forwarded import trust_forwarded_headers

from .conftest import csrf_of, via

INGRESS = "10.1.2.3"


async def _sign_in(http: httpx.AsyncClient, password: str, client: str) -> httpx.Response:
    """A sign-in as admin@example.com, forwarded for ``client``."""
    forwarded = {"X-Forwarded-For": client}
    form = await http.get("/login", headers=forwarded)
    typed = {"email": "admin@example.com", "password": password, "csrf": csrf_of(form.text)}
    return await http.post("/login", headers=forwarded, data=typed)


async def test_behind_a_trusted_proxy_a_locked_out_client_locks_out_no_one_else(
    app: Any,
) -> None:
    trust_forwarded_headers(app, ["10.0.0.0/8"])
    async with via(app, INGRESS) as http:
        for _ in range(5):
            assert (await _sign_in(http, "a wrong guess!", "203.0.113.7")).status_code == 401
        guesser = await _sign_in(http, "correct horse battery", "203.0.113.7")
        assert guesser.status_code == 401
        assert "too many failed sign-ins" in guesser.text
        owner = await _sign_in(http, "correct horse battery", "198.51.100.9")
        assert owner.status_code == 303  # the admin, from their own address, still signs in


@pytest.mark.parametrize(
    ("trusted", "peer"),
    [(["10.0.0.0/8"], "192.168.1.9"), ([], "127.0.0.1")],
    ids=["not-a-trusted-proxy", "none-trusted-by-default"],
)
async def test_a_forwarded_for_from_anyone_else_does_not_change_the_address(
    app: Any, trusted: list[str], peer: str
) -> None:
    """A guesser cannot escape the throttle by naming a new address in each request."""
    trust_forwarded_headers(app, trusted)
    async with via(app, peer) as http:
        for n in range(5):
            assert (await _sign_in(http, "a wrong guess!", f"203.0.113.{n}")).status_code == 401
        again = await _sign_in(http, "correct horse battery", "203.0.113.99")
        assert again.status_code == 401
        assert "too many failed sign-ins" in again.text


async def test_single_sign_on_through_a_trusted_proxy_still_believes_the_proxy(
    proxied: Any,
) -> None:
    """The SSO headers are the proxy's: believed from its own address, although the client's
    address is now the one it forwards."""
    trust_forwarded_headers(proxied, ["10.0.0.0/8"])
    ann = {"X-Forwarded-Email": "ann@example.com", "X-Forwarded-Groups": "as2-ops"}
    async with via(proxied, INGRESS) as http:
        page = await http.get("/send", headers={**ann, "X-Forwarded-For": "203.0.113.7"})
        assert page.status_code == 200
        assert "ann@example.com" in page.text
    async with via(proxied, "192.168.1.9") as http:  # a client claiming to come through it
        spoofed = await http.get("/", headers={**ann, "X-Forwarded-For": INGRESS})
        assert spoofed.headers["location"] == "/login?next=/"
