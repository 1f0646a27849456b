"""config-svc as a real process answers partner-credential requests on core NATS: the secrets
as stored (still sealed), for the partner asked about, and nowhere on the event stream."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from as2bus.contracts.credentials import (
    CREDENTIALS_SUBJECT,
    CredentialsReply,
    CredentialsRequest,
    secrets_context,
)
from as2bus.shared.crypto import SecretBox
from as2bus.testing.services import ServiceProcess

from .conftest import SECRET, payloads, service_env, wait_for_events

PARTNER = {
    "as2_id": "acme",
    "name": "Acme",
    "as2_url": "https://as2.acme.example/as2",
    "http_auth": {"type": "basic", "username": "acme", "password": SECRET},
}
REFRESHING = {
    "type": "token",
    "placement": "query",
    "param_name": "key",
    "token": "tok-" + SECRET,
    "refresh": {
        "uri": "/oauth",
        "refresh_token": "refresh-" + SECRET,
        "headers": {"X-Client": "hdr-" + SECRET},
    },
}


@pytest.fixture
async def nc(nats_url: str, config_svc: ServiceProcess) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


async def ask(nc: Client, partner_id: uuid.UUID | str) -> CredentialsReply:
    request = CredentialsRequest(partner_id=uuid.UUID(str(partner_id)))
    msg = await nc.request(CREDENTIALS_SUBJECT, request.model_dump_json().encode(), timeout=5)
    return CredentialsReply.model_validate_json(msg.data)


async def create(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/api/v1/partners", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def opened(box: SecretBox, reply: CredentialsReply) -> dict[str, Any]:
    assert reply.sealed is not None
    secrets: dict[str, Any] = json.loads(box.open(reply.sealed, secrets_context(reply.partner_id)))
    return secrets


async def test_the_reply_is_the_sealed_secrets_of_that_partner(
    api: httpx.AsyncClient, nc: Client, master_key: str, js: JetStreamContext
) -> None:
    box = SecretBox(master_key)
    basic = await create(api, PARTNER)
    token = await create(api, {**PARTNER, "as2_id": "globex", "http_auth": REFRESHING})
    plain = await create(api, {**PARTNER, "as2_id": "initech", "http_auth": {"type": "none"}})

    reply = await ask(nc, basic["id"])
    assert (str(reply.partner_id), reply.found) == (basic["id"], True)
    assert SECRET not in (reply.sealed or "")
    assert opened(box, reply) == {"password": SECRET}
    assert opened(box, await ask(nc, token["id"])) == {
        "token": "tok-" + SECRET,
        "refresh_token": "refresh-" + SECRET,
        "refresh_headers": {"X-Client": "hdr-" + SECRET},
    }
    none = await ask(nc, plain["id"])
    assert (none.found, none.sealed) == (True, None)
    unknown = await ask(nc, uuid.uuid4())
    assert (unknown.found, unknown.sealed) == (False, None)

    # Bound to its partner: the sealed value of one partner does not open as another's.
    other = CredentialsReply(partner_id=uuid.UUID(token["id"]), found=True, sealed=reply.sealed)
    with pytest.raises(ValueError, match="cannot open"):
        opened(box, other)

    patched = await api.patch(
        f"/api/v1/partners/{basic['id']}",
        json={"http_auth": {"type": "basic", "username": "acme", "password": "new-" + SECRET}},
    )
    assert patched.status_code == 200, patched.text
    assert opened(box, await ask(nc, basic["id"])) == {"password": "new-" + SECRET}

    events = json.dumps(payloads(await wait_for_events(js, 4)))
    assert SECRET not in events
    assert (reply.sealed or "") not in events


async def test_replicas_share_the_requests_as_one_queue_group(
    api: httpx.AsyncClient,
    nc: Client,
    nats_url: str,
    sqlite_url: str,
    master_key: str,
    tmp_path: Path,
) -> None:
    partner = await create(api, PARTNER)
    # A second config-svc on the same database: each request is answered exactly once.
    env = service_env(nats_url, sqlite_url, master_key)
    second = ServiceProcess("as2bus.config", env, tmp_path / "second.log").start()
    try:
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        request = CredentialsRequest(partner_id=uuid.UUID(partner["id"])).model_dump_json()
        for _ in range(20):
            await nc.publish(CREDENTIALS_SUBJECT, request.encode(), reply=inbox)
        replies = [await sub.next_msg(timeout=5) for _ in range(20)]
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.5)
        await sub.unsubscribe()
    finally:
        second.stop()
    assert all(CredentialsReply.model_validate_json(r.data).found for r in replies)
