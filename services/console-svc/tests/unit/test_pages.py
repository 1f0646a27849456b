"""The console's HTTP handlers in process (no browser, no other service): sign-in, session
cookies, roles, CSRF, the users API, with fake backends and SQLite on a temporary file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from as2bus.console.adapters.tables import metadata
from as2bus.console.bootstrap import create_app
from as2bus.console.domain.roles import Role
from as2bus.console.settings import ConsoleSettings
from as2bus.shared.db import create_engine

TOKEN = "console-unit-token"


class FakeTracklog:
    name = "tracklog-svc"

    async def get(self, path: str, params: Any = None) -> Any:
        if path == "/api/v1/stats":
            return {"counts": [], "time_to_mdn": [], "certificates": []}
        if path == "/api/v1/messages":
            return {"items": [], "next_cursor": None}
        return None


class FakeBackends:
    tracklog = FakeTracklog()

    async def enabled_partnerships(self) -> list[dict[str, Any]]:
        return [{"id": "p1", "station_as2_id": "MYCO", "partner_as2_id": "ACME"}]


class FakeSender:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes, dict[str, Any]]] = []

    async def send_file(self, file: Any, size: int, **fields: Any) -> str:
        self.sent.append((file.read(), fields))
        return "console-req-1"


@pytest.fixture
async def app(tmp_path: Path) -> Any:
    url = f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    # Plain http in process: the cookies must not be Secure (the default) to come back.
    settings = ConsoleSettings.model_validate(
        {"database_url": url, "api_token": TOKEN, "auto_migrate": False,
         "AS2BUS_CONSOLE_COOKIE_SECURE": False}
    )  # fmt: skip
    application = create_app(settings)
    application.state.backends = FakeBackends()
    application.state.sender = FakeSender()
    for email, role in (("admin@example.com", Role.ADMIN), ("viewer@example.com", Role.VIEWER)):
        await application.state.accounts.create_user(email, role, "correct horse battery")
    return application


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")


async def sign_in(http: httpx.AsyncClient, email: str) -> str:
    form = (await http.get("/login")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    answer = await http.post("/login", data={"email": email, "password": "correct horse battery",
                                             "csrf": csrf.group(1), "next": "/send"})  # fmt: skip
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_pages_need_a_session_and_the_cookie_is_http_only(app: Any) -> None:
    async with client(app) as http:
        assert (await http.get("/tracklog")).headers["location"] == "/login?next=/tracklog"
        form = await http.get("/login")
        answer = await http.post("/login", data={"email": "admin@example.com",
                                 "password": "correct horse battery",
                                 "csrf": csrf_of(form.text)})  # fmt: skip
        cookie = answer.headers["set-cookie"]
        assert "as2bus_session=" in cookie
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert TOKEN not in (await http.get("/")).text  # the backend token never in a page


async def test_the_sign_in_form_needs_its_csrf_token(app: Any) -> None:
    async with client(app) as http:
        await http.get("/login")
        answer = await http.post("/login", data={"email": "admin@example.com",
                                 "password": "correct horse battery", "csrf": "guess"})  # fmt: skip
        assert answer.status_code == 403
        assert "out of date" in answer.text


async def test_send_file_needs_the_operator_role_and_the_form_token(app: Any) -> None:
    async with client(app) as viewer:
        await sign_in(viewer, "viewer@example.com")
        page = await viewer.get("/tracklog")
        files = {"file": ("po.x12", b"ISA*00~", "application/edi-x12")}
        data = {"csrf": csrf_of(page.text), "partnership": "p1"}
        assert (await viewer.post("/send", data=data, files=files)).status_code == 403
    async with client(app) as admin:
        assert await sign_in(admin, "admin@example.com") == "/send"
        form = await admin.get("/send")
        files = {"file": ("po.x12", b"ISA*00~", "application/edi-x12")}
        refused = await admin.post("/send", data={"csrf": "x", "partnership": "p1"}, files=files)
        assert refused.status_code == 403
        data = {"csrf": csrf_of(form.text), "partnership": "p1", "subject": "PO 1"}
        sent = await admin.post("/send", data=data, files=files)
        assert sent.headers["location"] == "/sent/console-req-1"
    ((body, fields),) = app.state.sender.sent
    assert body == b"ISA*00~"
    assert (fields["station"], fields["partner"], fields["subject"]) == ("MYCO", "ACME", "PO 1")


async def test_the_users_api_takes_the_admin_token_only(app: Any) -> None:
    async with client(app) as http:
        body = {"email": "new@example.com", "role": "operator"}
        assert (await http.post("/api/v1/users", json=body)).status_code == 401
        made = await http.post("/api/v1/users", json=body,
                               headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert made.status_code == 201
        assert len(made.json()["password"]) >= 12
        again = await http.post("/api/v1/users", json=body,
                                headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
        assert again.status_code == 409
