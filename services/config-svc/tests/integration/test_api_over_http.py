"""config-svc as a real process: HTTP API, events on real JetStream, the replica, secrets."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from as2bus.shared.bus.replica import ConfigReplica
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import PrivateCa

from .conftest import SECRET, TOKEN, payloads, wait_for_events

PARTNER = {
    "as2_id": "amazon",
    "name": "Amazon",
    "as2_url": "https://as2.example.com/as2",
    "encryption_alg": "AES-256-CBC",
    "signing_alg": "sha-256",
    "http_auth": {"type": "basic", "username": "acme", "password": SECRET},
}


async def created(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def replay(events: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """A replica built only from events, as another service would build it."""
    views: dict[str, dict[str, dict[str, Any]]] = {"Station": {}, "Partner": {}, "Partnership": {}}
    for event in events:
        kind = next(
            k for k in sorted(views, key=len, reverse=True) if event["event_type"].startswith(k)
        )
        table, data = views[kind], event["data"]
        if event["event_type"].endswith("Deleted"):
            table.pop(data["id"], None)
        elif data["id"] not in table or table[data["id"]]["revision"] < data["revision"]:
            table[data["id"]] = data
    return views


async def api_view(api: httpx.AsyncClient) -> dict[str, dict[str, dict[str, Any]]]:
    view = {}
    for kind, path in [
        ("Station", "stations"),
        ("Partner", "partners"),
        ("Partnership", "partnerships"),
    ]:
        view[kind] = {e["id"]: e for e in (await api.get(f"/api/v1/{path}")).json()}
    return view


async def test_a_replica_built_from_events_equals_the_api_view(
    api: httpx.AsyncClient, js: JetStreamContext, config_svc: ServiceProcess
) -> None:
    station = await created(api, "/api/v1/stations", {"as2_id": "MYCO", "name": "My Co"})
    partner = await created(api, "/api/v1/partners", PARTNER)
    link = await created(
        api, "/api/v1/partnerships", {"station_id": station["id"], "partner_id": partner["id"]}
    )
    update = await api.patch(f"/api/v1/partners/{partner['id']}", json={"max_concurrency": 5})
    assert update.json()["max_concurrency"] == 5
    rename = await api.patch(f"/api/v1/stations/{station['id']}", json={"as2_id": "MYCO2"})
    assert rename.status_code == 200

    messages = await wait_for_events(js, 6)
    events = payloads(messages)
    assert [e["event_type"] for e in events] == [
        "StationCreated", "PartnerCreated", "PartnershipCreated", "PartnerUpdated",
        "StationUpdated", "PartnershipUpdated",
    ]  # fmt: skip
    assert all(
        m.headers["Nats-Msg-Id"] == e["event_id"] for m, e in zip(messages, events, strict=True)
    )
    assert events[2]["correlation_id"] == link["id"]
    assert events[1]["data"]["http_auth"] == {
        "type": "basic",
        "username": "acme",
        "password_set": True,
    }
    assert replay(events) == await api_view(api)

    replica = ConfigReplica()
    await replica.start(js)
    try:
        view = await api_view(api)
        assert {str(k): v.model_dump(mode="json") for k, v in replica.partners.items()} == view[
            "Partner"
        ]
        assert replica.find_partnership("MYCO2", "amazon") is not None
    finally:
        await replica.stop()

    assert (await api.delete(f"/api/v1/partnerships/{link['id']}")).status_code == 204
    assert (await api.delete(f"/api/v1/partners/{partner['id']}")).status_code == 204
    events = payloads(await wait_for_events(js, 8))
    assert replay(events) == await api_view(api)
    assert replay(events)["Partner"] == {}

    everything = json.dumps(events) + config_svc.log() + json.dumps(await api_view(api))
    assert SECRET not in everything


async def test_bad_input_gets_422_naming_the_field_and_stores_nothing(
    api: httpx.AsyncClient, js: JetStreamContext
) -> None:
    cases = [
        ({**PARTNER, "as2_url": "ftp://nope"}, ["body", "as2_url"]),
        ({**PARTNER, "as2_id": "x" * 129}, ["body", "as2_id"]),
        ({**PARTNER, "signing_alg": "md5"}, ["body", "signing_alg"]),
        ({**PARTNER, "mdn_mode": "async"}, ["body", "async_mdn_url"]),
        (
            {**PARTNER, "http_auth": {"type": "basic", "username": "u"}},
            ["body", "http_auth", "password"],
        ),
        ({**PARTNER, "max_concurrency": 26}, ["body", "max_concurrency"]),
    ]
    for body, loc in cases:
        response = await api.post("/api/v1/partners", json=body)
        assert response.status_code == 422, body
        assert loc in [e["loc"] for e in response.json()["detail"]], response.text
        assert SECRET not in response.text
    assert (await api.get("/api/v1/partners")).json() == []
    assert (await js.stream_info("AS2_EVENTS")).state.messages == 0


async def test_a_disabled_partner_is_refused_in_a_partnership(api: httpx.AsyncClient) -> None:
    station = await created(api, "/api/v1/stations", {"as2_id": "MYCO", "name": "My Co"})
    partner = await created(api, "/api/v1/partners", {**PARTNER, "enabled": False})
    response = await api.post(
        "/api/v1/partnerships", json={"station_id": station["id"], "partner_id": partner["id"]}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "partner_id"]
    assert "disabled" in response.json()["detail"][0]["msg"]


async def test_duplicate_as2_ids_get_409(api: httpx.AsyncClient) -> None:
    await created(api, "/api/v1/partners", PARTNER)
    response = await api.post("/api/v1/partners", json=PARTNER)
    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["body", "as2_id"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
async def test_admin_endpoints_need_the_token(
    config_svc: ServiceProcess, headers: dict[str, str]
) -> None:
    some_id = uuid.uuid4()
    async with httpx.AsyncClient(base_url=config_svc.base_url, headers=headers) as client:
        for method, path in [
            ("GET", "/api/v1/stations"), ("POST", "/api/v1/partners"),
            ("PATCH", f"/api/v1/partners/{some_id}"), ("DELETE", f"/api/v1/partnerships/{some_id}"),
        ]:  # fmt: skip
            response = await client.request(method, path, json={})
            assert response.status_code == 401, (method, path)
        for path in ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"]:
            assert (await client.get(path)).status_code == 200, path


async def test_unknown_ids_get_404(api: httpx.AsyncClient) -> None:
    response = await api.get(f"/api/v1/partners/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]


async def test_every_change_says_who_made_it_and_what_changed_without_secrets(
    api: httpx.AsyncClient, js: JetStreamContext, config_svc: ServiceProcess
) -> None:
    """The audit record travels with the event: the token that made the change (its first 8
    hex digits of SHA-256, never the token), the person a console names, each field from and
    to, and secrets by name only."""
    token_id = hashlib.sha256(TOKEN.encode()).hexdigest()[:8]
    partner = await created(api, "/api/v1/partners", PARTNER)
    as_alice = {"X-As2bus-Actor": "alice@example.com"}
    new_auth = {"type": "basic", "username": "acme", "password": "another-" + SECRET}
    changed = await api.patch(
        f"/api/v1/partners/{partner['id']}",
        json={"name": "Amazon EU", "http_auth": new_auth},
        headers=as_alice,
    )
    assert changed.status_code == 200, changed.text
    gone = await api.delete(f"/api/v1/partners/{partner['id']}", headers=as_alice)
    assert gone.status_code == 204

    created_event, updated, deleted = payloads(await wait_for_events(js, 3))
    assert created_event["audit"]["actor"] == f"API token {token_id} (admin)"
    assert created_event["audit"]["changes"]["as2_id"] == {"from": None, "to": "amazon"}
    assert created_event["audit"]["changes"]["secret password"] == {"to": "set"}
    assert updated["audit"] == {
        "actor": f"alice@example.com via API token {token_id}",
        "changes": {
            "name": {"from": "Amazon", "to": "Amazon EU"},
            "secret password": {"to": "replaced"},
        },
    }
    assert deleted["audit"] == {
        "actor": f"alice@example.com via API token {token_id}",
        "changes": {},
    }
    everything = json.dumps([created_event, updated, deleted])
    assert SECRET not in everything
    assert TOKEN not in everything


async def test_tls_settings_over_http_a_private_key_is_refused_unrepeated_and_changes_audited(
    api: httpx.AsyncClient, js: JetStreamContext, config_svc: ServiceProcess
) -> None:
    ca = PrivateCa("partner TLS CA")
    key, server = ca.issue(host="as2.example.com")
    key_line = key.decode().splitlines()[1]
    mistake = {**PARTNER, "tls": {"ca_bundle_pem": (key + server).decode()}}
    refused = await api.post("/api/v1/partners", json=mistake)
    assert refused.status_code == 422
    (detail,) = refused.json()["detail"]
    assert detail["loc"] == ["body", "tls", "ca_bundle_pem"]
    assert "holds a private key" in detail["msg"]

    partner = await created(api, "/api/v1/partners", {**PARTNER, "tls": {"verify": False}})
    assert partner["tls"]["verify"] is False
    pin = "AB:" * 31 + "AB"
    changed = await api.patch(
        f"/api/v1/partners/{partner['id']}", json={"tls": {"pinned_sha256": [pin]}}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["tls"] == {**partner["tls"], "pinned_sha256": ["ab" * 32]}
    assert (await api.get(f"/api/v1/partners/{partner['id']}")).json()["tls"]["verify"] is False

    _, updated = payloads(await wait_for_events(js, 2))
    assert updated["audit"]["changes"] == {"tls.pinned_sha256": {"from": [], "to": ["ab" * 32]}}
    everything = refused.text + config_svc.log() + json.dumps(updated)
    assert key_line not in everything


async def test_a_partner_saved_with_a_risk_is_kept_and_its_risk_logged(
    api: httpx.AsyncClient, config_svc: ServiceProcess
) -> None:
    """Warned of, not refused: a test partner may need neither signature nor encryption, and
    an admin an odd URL; the CLI and the console say the same to the admin."""
    partner = await created(api, "/api/v1/partners", {
        **PARTNER, "as2_id": "NOSIGN", "signing_alg": None, "encryption_alg": None,
        "as2_url": "http://169.254.169.254/latest/meta-data/",
    })  # fmt: skip
    signed = await api.patch(f"/api/v1/partners/{partner['id']}", json={"signing_alg": "sha256"})
    assert signed.status_code == 200, signed.text
    log = config_svc.log()
    assert log.count("anyone who can reach our AS2 endpoint can send documents as NOSIGN") == 1
    assert "NOSIGN's AS2 URL names 169.254.169.254, a link-local address" in log
