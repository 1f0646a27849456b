"""A partner's async MDN networks through the real config-svc process, on SQLite and
PostgreSQL: an invalid network gets a 422 in one sentence and nothing is stored; valid ones
are stored canonically, published with the partner, changed and emptied by an update."""

from __future__ import annotations

import httpx
from nats.js import JetStreamContext

from .conftest import payloads, wait_for_events

PARTNER = {"as2_id": "ONPREM", "name": "On premises", "as2_url": "https://as2.example.com/as2"}


async def test_an_invalid_network_is_refused_in_one_sentence_and_nothing_is_stored(
    api_on_db: httpx.AsyncClient, js: JetStreamContext
) -> None:
    body = {**PARTNER, "async_mdn_networks": ["10.20.0.0/16", "10.0.0.0/33"]}
    response = await api_on_db.post("/api/v1/partners", json=body)
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "async_mdn_networks", 1]
    assert "10.0.0.0/33 is not a network" in detail["msg"]
    assert (await api_on_db.get("/api/v1/partners")).json() == []
    assert (await js.stream_info("AS2_EVENTS")).state.messages == 0


async def test_networks_are_stored_published_changed_and_emptied(
    api_on_db: httpx.AsyncClient, js: JetStreamContext
) -> None:
    body = {**PARTNER, "async_mdn_networks": ["10.20.1.2/16", "fd12::/16"]}
    response = await api_on_db.post("/api/v1/partners", json=body)
    assert response.status_code == 201, response.text
    partner = response.json()
    assert partner["async_mdn_networks"] == ["10.20.0.0/16", "fd12::/16"]
    path = f"/api/v1/partners/{partner['id']}"
    refused = await api_on_db.patch(path, json={"async_mdn_networks": ["0.0.0.0/0"]})
    assert refused.status_code == 422
    assert "would allow every address" in refused.json()["detail"][0]["msg"]
    renamed = await api_on_db.patch(path, json={"name": "Renamed"})
    assert renamed.json()["async_mdn_networks"] == ["10.20.0.0/16", "fd12::/16"]
    emptied = await api_on_db.patch(path, json={"async_mdn_networks": []})
    assert emptied.status_code == 200, emptied.text
    assert (await api_on_db.get(path)).json()["async_mdn_networks"] == []

    created, _, updated = payloads(await wait_for_events(js, 3))
    assert created["data"]["async_mdn_networks"] == ["10.20.0.0/16", "fd12::/16"]
    assert updated["audit"]["changes"] == {
        "async_mdn_networks": {"from": ["10.20.0.0/16", "fd12::/16"], "to": []}
    }
