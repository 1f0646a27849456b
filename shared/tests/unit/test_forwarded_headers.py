"""Every service's entry believes X-Forwarded-For and X-Forwarded-Proto from the proxies in
AS2BUS_FORWARDED_ALLOW_IPS only (none by default), and keeps the connection's own address."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from as2bus.shared import entry
from as2bus.shared.forwarded import peer_address
from as2bus.shared.settings import ServiceSettings
from as2bus.shared.starting import StartingGate


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    async def who(request: Request) -> dict[str, Any]:
        client = request.client.host if request.client else None
        return {"client": client, "peer": peer_address(request), "scheme": request.url.scheme}

    return app


def _served(monkeypatch: pytest.MonkeyPatch) -> tuple[FastAPI, uvicorn.Config]:
    """The app (behind its StartingGate) and the configuration the entry would serve."""
    handed: dict[str, Any] = {}

    def run(server: uvicorn.Server, *_args: Any) -> None:
        gate = server.config.app
        assert isinstance(gate, StartingGate)
        handed.update(app=gate.app, config=server.config)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    status = entry.service_main("probe-svc", serve_help="serve", settings=ServiceSettings,
                                create_app=lambda _s: _app(), migrations="unused",
                                argv=["serve"])  # fmt: skip
    assert status == 0
    return handed["app"], handed["config"]


def _ask(app: FastAPI, peer: str, headers: dict[str, str]) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
            answer: dict[str, Any] = (await http.get("/who", headers=headers)).json()
            return answer

    return asyncio.run(ask())


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def test_a_trusted_proxys_headers_give_the_clients_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AS2BUS_FORWARDED_ALLOW_IPS", '["10.244.0.0/16"]')
    app, config = _served(monkeypatch)
    assert config.proxy_headers is False  # uvicorn's own default trusts 127.0.0.1
    seen = _ask(app, "10.244.3.4", FORWARDED)
    assert seen == {"client": "203.0.113.7", "peer": "10.244.3.4", "scheme": "https"}
    elsewhere = _ask(app, "10.9.9.9", FORWARDED)
    assert elsewhere == {"client": "10.9.9.9", "peer": "10.9.9.9", "scheme": "http"}


def test_by_default_no_one_is_believed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AS2BUS_FORWARDED_ALLOW_IPS", raising=False)
    app, _ = _served(monkeypatch)
    seen = _ask(app, "127.0.0.1", FORWARDED)
    assert seen == {"client": "127.0.0.1", "peer": "127.0.0.1", "scheme": "http"}


def test_a_value_that_is_no_address_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AS2BUS_FORWARDED_ALLOW_IPS", '["ingress-nginx"]')
    monkeypatch.setattr(uvicorn.Server, "run", lambda *_a, **_k: pytest.fail("it started"))
    status = entry.service_main("probe-svc", serve_help="serve", settings=ServiceSettings,
                                create_app=lambda _s: _app(), migrations="unused",
                                argv=["serve"])  # fmt: skip
    assert status == 2
    said = capsys.readouterr().err
    assert "forwarded_allow_ips" in said
    assert "'ingress-nginx' is not an IP address or network" in said
