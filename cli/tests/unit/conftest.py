"""A fake config-svc behind ``httpx.MockTransport``, and a runner wired to it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from as2bus.cli.client import CliState
from as2bus.cli.main import app

URL = "http://config.test"
TOKEN = "unit-test-token"
NOW = "2026-01-01T00:00:00Z"


def _public_auth(auth: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    kind = auth.get("type", "none")
    same = old.get("type") == kind
    if kind == "basic":
        kept = same and old.get("password_set", False)
        return {
            "type": "basic",
            "username": auth["username"],
            "password_set": bool(auth.get("password")) or kept,
        }
    if kind == "token":
        public = {k: v for k, v in auth.items() if k not in ("token", "refresh")}
        kept = same and old.get("token_set", False)
        return {**public, "token_set": bool(auth.get("token")) or kept, "refresh": None}
    return {"type": "none"}


@dataclass
class FakeApi:
    """Just enough of config-svc's REST API for the CLI: records every request."""

    store: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"stations": {}, "partners": {}, "partnerships": {}}
    )
    requests: list[httpx.Request] = field(default_factory=list)
    overrides: list[tuple[str, str, httpx.Response]] = field(default_factory=list)

    def fail(self, method: str, path: str, status: int, body: Any) -> None:
        """Answer ``method path`` (path after /api/v1, prefix match) with an error."""
        self.overrides.append((method, path, httpx.Response(status, json=body)))

    def bodies(self, method: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.method == method and r.content]

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": str(uuid.uuid4()), "revision": 1}
        entry |= {"created_at": NOW, "updated_at": NOW}
        entry |= self._defaults(kind, fields) | fields
        self.store[kind][entry["id"]] = entry
        return entry

    def _defaults(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        if kind == "stations":
            return {"private_key_alias": str(fields.get("as2_id", "")).lower(), "email": None,
                    "mdn_signing_alg": "sha256", "incoming_encoding": "binary",
                    "accepted_encryption_algs": ["aes256-cbc"],
                    "accepted_signing_algs": ["sha256"]}  # fmt: skip
        if kind == "partners":
            return {"as2_alias": str(fields.get("as2_id", "")).lower(), "enabled": True,
                    "mdn_mode": "sync", "mdn_signed": True, "mdn_signature": "required",
                    "encryption_alg": "aes256-cbc",
                    "signing_alg": "sha256", "http_auth": {"type": "none"}}  # fmt: skip
        station = self.store["stations"][fields["station_id"]]
        partner = self.store["partners"][fields["partner_id"]]
        return {
            "station_as2_id": station["as2_id"],
            "partner_as2_id": partner["as2_id"],
            "enabled": True,
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.path.startswith("/api/v1/")
        path = request.url.path.removeprefix("/api/v1")
        for method, prefix, response in self.overrides:
            if request.method == method and path.startswith(prefix):
                return response
        kind, _, ref = path.strip("/").partition("/")
        table = self.store[kind]
        body = json.loads(request.content) if request.content else {}
        if request.method == "POST":
            if "http_auth" in body:
                body["http_auth"] = _public_auth(body["http_auth"], {})
            return httpx.Response(201, json=self.add(kind, **body))
        if not ref:
            rows = [
                e
                for e in table.values()
                if all(e.get(k) == v for k, v in request.url.params.items())
            ]
            return httpx.Response(200, json=rows)
        if ref not in table:
            return httpx.Response(404, json={"detail": f"{kind[:-1]} {ref} not found"})
        if request.method == "DELETE":
            del table[ref]
            return httpx.Response(204)
        if request.method == "PATCH":
            if "http_auth" in body:
                body["http_auth"] = _public_auth(body["http_auth"], table[ref]["http_auth"])
            if "tls" in body:  # config-svc changes only the TLS fields given
                body["tls"] = {**(table[ref].get("tls") or {}), **body["tls"]}
            table[ref] |= body
        return httpx.Response(200, json=table[ref])


@dataclass
class Run:
    api: FakeApi

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        token: bool = True,
    ) -> Any:
        root = ["--config-url", URL, *(["--token", TOKEN] if token else [])]
        state = CliState(transport=httpx.MockTransport(self.api))
        return CliRunner().invoke(app, [*root, *args], input=input, env=env, obj=state)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AS2BUS_* setting of the developer's shell, no ./var of the checkout."""
    for name in (
        "AS2BUS_API_TOKEN",
        "AS2BUS_CONFIG_URL",
        "AS2BUS_DATA_DIR",
        "AS2BUS_PARTNER_PASSWORD",
        "AS2BUS_PARTNER_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def run(api: FakeApi) -> Callable[..., Any]:
    return Run(api)


def value(stdout: str, key: str) -> str:
    """The value of ``key:`` in key: value output."""
    for line in stdout.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name == key:
            return rest.strip()
    raise AssertionError(f"no {key!r} line in:\n{stdout}")
