"""The loopback demo's setup against fake config-svc and cert-svc APIs: what it creates."""

from __future__ import annotations

import functools
import json
import time
from typing import Any

import httpx
import pytest

from as2bus.cli import demo

CONFIG, CERT = "http://config.test", "http://cert.test"


class FakeServices:
    """Just enough of config-svc and cert-svc; cert-svc learns of each partnership only on
    the second ask, as its replica may lag behind config-svc."""

    def __init__(self) -> None:
        self.created: dict[str, list[dict[str, Any]]] = {}
        self.partner_certificates: dict[str, str] = {}  # alias -> PEM
        self.unknown_once: set[tuple[str, str]] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            return httpx.Response(200, json=self.created.get(path, []))
        if path == "/api/v1/certificates/partner":
            form = request.content.decode()
            alias = form.split('name="alias"\r\n\r\n')[1].split("\r\n")[0]
            self.partner_certificates[alias] = form.split("\r\n\r\n")[2].split("\r\n")[0]
            return httpx.Response(201, json={"alias": alias})
        body: dict[str, Any] = json.loads(request.content)
        if path == "/api/v1/keystores":
            pair = (body["station"], body["partner"])
            if pair not in self.unknown_once:
                self.unknown_once.add(pair)
                return httpx.Response(422, json={"error_code": "partnership_not_found"})
            body = {
                "station_as2_id": body["station"],
                "partner_as2_id": body["partner"],
                "partner_cert_alias": body["partner"].lower(),
                "own_certificates": [{"cert_pem": f"CERT OF {body['station']}"}],
                "password": body["password"],
            }
        self.created.setdefault(path, []).append({"id": f"id-{len(self.created)}", **body})
        return httpx.Response(201, json=self.created[path][-1])


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> FakeServices:
    fake = FakeServices()
    client = functools.partial(httpx.Client, transport=httpx.MockTransport(fake))
    monkeypatch.setattr(httpx, "Client", client)
    monkeypatch.setattr(time, "sleep", lambda _: None)
    return fake


def test_each_partnership_gets_a_keystore_and_trusts_the_other_side(
    services: FakeServices,
) -> None:
    created = demo.set_up_demo(CONFIG, CERT, "http://in.test/as2", "token",
                               keystore_password=lambda: "demo-password")  # fmt: skip
    assert created
    keystores = services.created["/api/v1/keystores"]
    assert {(k["station_as2_id"], k["partner_as2_id"]) for k in keystores} == {
        ("DEMO-A", "DEMO-B"),
        ("DEMO-B", "DEMO-A"),
    }
    assert {k["password"] for k in keystores} == {"demo-password"}
    # DEMO-A's key signs for partner DEMO-B, whose side knows it as partner DEMO-A's.
    assert services.partner_certificates == {"demo-a": "CERT OF DEMO-A", "demo-b": "CERT OF DEMO-B"}
    assert "/api/v1/certificates/own" not in services.created  # no key shared by the station


def test_an_existing_configuration_is_left_alone(services: FakeServices) -> None:
    services.created["/api/v1/stations"] = [{"id": "s", "as2_id": "MYCO"}]
    asked: list[str] = []

    def password() -> str:
        asked.append("a password")
        return "demo-password"

    assert not demo.set_up_demo(CONFIG, CERT, "http://in.test/as2", "token", password)
    assert asked == []  # no password is made for a demo that is not created
    assert "/api/v1/keystores" not in services.created
