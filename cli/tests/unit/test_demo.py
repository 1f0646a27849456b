"""The loopback demo's setup against fake config-svc and cert-svc APIs: what it creates."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
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
        self.refusal: dict[str, Any] | None = None  # cert-svc's answer to a keystore, if set

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
            if self.refusal is not None:
                return httpx.Response(409, json={"detail": [self.refusal]})
            station, partner = (name.lower() for name in pair)
            shared = body.get("own_key") == "existing"  # the station's key, not a new one
            body = {
                "station_as2_id": body["station"],
                "partner_as2_id": body["partner"],
                "private_key_alias": station if shared else f"{station}@{partner}",
                "partner_cert_alias": partner,
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


PASSWORD_FILE = Path("data/secrets/demo-keystore-password")


def older_demo(services: FakeServices) -> None:
    """A demo an older as2bus made: stations, partners, partnerships, no keystores; and a
    partnership of the user's own, without a keystore too."""
    services.created["/api/v1/stations"] = [{"id": "s", "as2_id": "DEMO-A"}]
    services.created["/api/v1/partnerships"] = [
        {"station_as2_id": station, "partner_as2_id": partner}
        for station, partner in [*demo.DIRECTIONS, ("MYCO", "ACME")]
    ]


def test_a_demo_an_older_as2bus_made_gets_its_keystores_once(services: FakeServices) -> None:
    """Its partnerships had none: the console's Rotate and 'as2bus keystore rotate' had
    nothing to rotate, and 'up' never made them."""
    older_demo(services)
    asked: list[str] = []

    def password() -> str:
        asked.append("a password")
        return "demo-password"

    assert not demo.set_up_demo(CONFIG, CERT, "http://in.test/as2", "token", password)
    told = demo.keystores_told(CONFIG, CERT, "token", password, PASSWORD_FILE)
    assert told == (
        "Created the loopback demo's missing keystores (DEMO-A:DEMO-B, DEMO-B:DEMO-A), each "
        "with the key its partnership signs with; their export password is in "
        f"{PASSWORD_FILE}.\n"
    )
    keystores = services.created["/api/v1/keystores"]
    assert [(k["station_as2_id"], k["partner_as2_id"], k["private_key_alias"], k["password"])
            for k in keystores] == [("DEMO-A", "DEMO-B", "demo-a", "demo-password"),
                                    ("DEMO-B", "DEMO-A", "demo-b", "demo-password")]  # fmt: skip
    assert services.partner_certificates == {}  # each side trusts the other's already
    # The next 'up' finds nothing missing: nothing is created, no password is asked for.
    assert demo.keystores_told(CONFIG, CERT, "token", password, PASSWORD_FILE) == ""
    assert len(services.created["/api/v1/keystores"]) == 2
    assert asked == ["a password"]


def test_keystores_that_cannot_be_created_are_said_so_in_a_sentence_and_up_goes_on(
    services: FakeServices,
) -> None:
    older_demo(services)
    services.refusal = {"msg": "there is no key in service under the alias 'demo-a' to use",
                        "error_code": "key_not_found"}  # fmt: skip
    told = demo.keystores_told(CONFIG, CERT, "token", lambda: "demo-password", PASSWORD_FILE)
    assert told == (
        "The loopback demo's missing keystores could not be created (there is no key in "
        "service under the alias 'demo-a' to use): create them by hand with as2bus keystore "
        "create --station DEMO-A --partner DEMO-B --own-key existing and as2bus keystore "
        "create --station DEMO-B --partner DEMO-A --own-key existing (the password in "
        f"{PASSWORD_FILE}, or one of yours).\n"
    )
