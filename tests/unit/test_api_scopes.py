"""Every admin API route declares the scope it needs, and each service enforces it.

The apps are built without their lifespan (no NATS, no database): the scope check runs before
any handler, so a refused token is refused here exactly as in production, and an accepted one
gets past the check (whatever the handler then does without its dependencies).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from as2bus.cert.bootstrap import create_app as cert_app
from as2bus.cert.settings import CertSettings
from as2bus.config.bootstrap import create_app as config_app
from as2bus.config.settings import ConfigSettings
from as2bus.inbound.bootstrap import create_app as inbound_app
from as2bus.inbound.settings import InboundSettings
from as2bus.shared.crypto import generate_master_key
from as2bus.shared.web import Scope, route_scope
from as2bus.tracklog.bootstrap import create_app as tracklog_app
from as2bus.tracklog.settings import TracklogSettings

TOKENS = {Scope.READ: "read-token-0123456789", Scope.OPERATE: "operate-token-0123456789",
          Scope.ADMIN: "admin-token-0123456789"}  # fmt: skip
UNSCOPED = {"/healthz", "/readyz", "/metrics", "/as2", "/docs", "/redoc", "/openapi.json",
            "/docs/oauth2-redirect"}  # fmt: skip


def _env(tmp: Path) -> dict[str, object]:
    return {
        "database_url": f"sqlite+aiosqlite:///{tmp}/x.db",
        "master_key": generate_master_key(),
        "api_tokens": {s.label: [t] for s, t in TOKENS.items()},
        "data_dir": tmp,
    }


APPS: dict[str, Callable[[Path], FastAPI]] = {
    "config": lambda tmp: config_app(ConfigSettings(**_env(tmp))),  # type: ignore[arg-type]
    "cert": lambda tmp: cert_app(CertSettings(**_env(tmp))),  # type: ignore[arg-type]
    "tracklog": lambda tmp: tracklog_app(TracklogSettings(**_env(tmp))),  # type: ignore[arg-type]
    "inbound": lambda tmp: inbound_app(InboundSettings(**_env(tmp))),  # type: ignore[arg-type]
}


def api_routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.path not in UNSCOPED]


@pytest.mark.parametrize("service", list(APPS))
def test_every_route_declares_a_scope(service: str, tmp_path: Path) -> None:
    app = APPS[service](tmp_path)
    undeclared = [r.path for r in api_routes(app) if route_scope(r) is None]
    assert undeclared == []


EXPECTED = {  # representative routes: (service, method, path) → the scope they need
    ("config", "GET", "/api/v1/partners"): Scope.READ,
    ("config", "POST", "/api/v1/partners"): Scope.ADMIN,
    ("config", "DELETE", "/api/v1/stations/00000000-0000-0000-0000-000000000000"): Scope.ADMIN,
    ("cert", "GET", "/api/v1/certificates"): Scope.READ,
    ("cert", "GET", "/api/v1/keystores/00000000-0000-0000-0000-000000000000/certificate.cer"):
        Scope.READ,
    ("cert", "GET", "/api/v1/keystores/00000000-0000-0000-0000-000000000000/keystore.p12"):
        Scope.ADMIN,
    ("cert", "POST", "/api/v1/keystores"): Scope.ADMIN,
    ("tracklog", "GET", "/api/v1/messages"): Scope.READ,
    ("tracklog", "GET", "/api/v1/stats"): Scope.READ,
}  # fmt: skip


@pytest.mark.parametrize(("route", "needed"), list(EXPECTED.items()))
@pytest.mark.parametrize("have", list(Scope))
async def test_each_scope_against_representative_routes(
    route: tuple[str, str, str], needed: Scope, have: Scope, tmp_path: Path
) -> None:
    service, method, path = route
    app = APPS[service](tmp_path)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        headers = {"Authorization": f"Bearer {TOKENS[have]}"}
        response = await client.request(method, path, headers=headers, json={})
        if have >= needed:  # admin ⊇ operate ⊇ read
            assert response.status_code not in (401, 403), response.text
        else:
            assert response.status_code == 403
            assert response.json()["detail"] == (
                f"this needs a token with the {needed.label} scope; yours has {have.label}"
            )
        for headers in ({}, {"Authorization": "Bearer unknown"}):
            refused = await client.request(method, path, headers=headers, json={})
            assert refused.status_code == 401
