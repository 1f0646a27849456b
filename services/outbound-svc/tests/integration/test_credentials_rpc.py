"""ConfigCredentials against config-svc as a real process on real NATS: the credentials come
back opened, are cached, are dropped when the partner changes, and never touch the events."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from as2bus.contracts.credentials import CREDENTIALS_SUBJECT
from as2bus.contracts.subjects import EVENTS_STREAM
from as2bus.outbound.adapters.credentials import (
    PARTNER_EVENTS,
    ConfigCredentials,
    Credentials,
    CredentialsUnavailableError,
)
from as2bus.shared.crypto import SecretBox, generate_master_key
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import next_message, until

TOKEN = "test-admin-token-0123456789"
SECRET = "pw-hunter2-SECRET"
MASTER_KEY = generate_master_key()


@pytest.fixture
def config_svc(nats_url: str, sqlite_url: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {
        "AS2BUS_NATS_URL": nats_url,
        "AS2BUS_DATABASE_URL": sqlite_url,
        "AS2BUS_API_TOKEN": TOKEN,
        "AS2BUS_MASTER_KEY": MASTER_KEY,
        "AS2BUS_RELAY_IDLE_SECONDS": "0.2",
    }
    proc = ServiceProcess("as2bus.config", env, tmp_path / "config.log").start()
    yield proc
    assert proc.stop() in (0, -signal.SIGTERM), proc.log()
    assert SECRET not in proc.log()


@pytest.fixture
async def api(config_svc: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=config_svc.base_url, headers=headers) as client:
        yield client


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
async def credentials(nc: Client) -> AsyncIterator[ConfigCredentials]:
    creds = ConfigCredentials(nc, SecretBox(MASTER_KEY), timeout=2)
    await creds.start()
    await nc.flush()
    yield creds
    await creds.stop()


@pytest.fixture
async def requests_seen(nc: Client) -> AsyncIterator[list[Msg]]:
    """Every credentials request, as an extra (non-answering) subscriber sees it."""
    seen: list[Msg] = []

    async def spy(msg: Msg) -> None:
        seen.append(msg)

    sub = await nc.subscribe(CREDENTIALS_SUBJECT, cb=spy)
    await nc.flush()
    yield seen
    await sub.unsubscribe()


async def partner(api: httpx.AsyncClient, as2_id: str, http_auth: dict[str, Any]) -> uuid.UUID:
    body = {"as2_id": as2_id, "name": as2_id, "as2_url": "https://p.example/as2"}
    response = await api.post("/api/v1/partners", json={**body, "http_auth": http_auth})
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def patch(api: httpx.AsyncClient, partner_id: uuid.UUID, body: dict[str, Any]) -> None:
    response = await api.patch(f"/api/v1/partners/{partner_id}", json=body)
    assert response.status_code == 200, response.text


async def test_credentials_come_from_config_svc_cached_until_the_partner_changes(
    api: httpx.AsyncClient,
    credentials: ConfigCredentials,
    requests_seen: list[Msg],
    nc: Client,
) -> None:
    basic = {"type": "basic", "username": "acme", "password": SECRET}
    # PartnerCreated would drop the cache too: let it pass first. Waited for on the connection
    # the credentials subscribe on: the server sends the event to both subscriptions together,
    # and their callback runs before ours lets the test go on.
    async with next_message(nc, PARTNER_EVENTS) as got:
        acme = await partner(api, "acme", basic)
        await got()
    js = nc.jetstream()
    assert (await credentials.get(acme)).password == SECRET
    assert (await credentials.get(acme)).password == SECRET
    assert len(requests_seen) == 1  # the second came from the cache

    await patch(api, acme, {"http_auth": {**basic, "password": "new-" + SECRET}})

    async def new_password() -> bool:
        return (await credentials.get(acme)).password == "new-" + SECRET

    await until(new_password, what="the new password")
    assert len(requests_seen) == 2  # dropped by the PartnerUpdated event, asked once more

    total = (await js.stream_info(EVENTS_STREAM)).state.messages
    events = [(await js.get_msg(EVENTS_STREAM, s)).data or b"" for s in range(1, total + 1)]
    types = [json.loads(e)["event_type"] for e in events]
    assert types == ["PartnerCreated", "PartnerUpdated"]
    assert all(SECRET.encode() not in e for e in events)


async def test_a_refreshed_token_wins_until_the_partner_is_updated(
    api: httpx.AsyncClient, credentials: ConfigCredentials
) -> None:
    refresh = {"uri": "/oauth", "refresh_token": "r-" + SECRET, "headers": {"X-C": "h"}}
    auth = {"type": "token", "token": "tok-" + SECRET, "refresh": refresh}
    globex = await partner(api, "globex", auth)
    stored = await credentials.get(globex)
    assert stored == Credentials(None, "tok-" + SECRET, "r-" + SECRET, {"X-C": "h"})

    credentials.remember_token(globex, "tok-refreshed")
    assert (await credentials.get(globex)).token == "tok-refreshed"
    assert (await credentials.get(globex)).refresh_token == "r-" + SECRET
    credentials.remember_token(globex, "tok-refreshed-2", "r-rotated")  # the partner rotated it
    assert (await credentials.get(globex)).refresh_token == "r-rotated"

    await patch(api, globex, {"name": "Globex Corp"})  # any change: the stored ones are back

    async def stored_again() -> bool:
        got = await credentials.get(globex)
        return (got.token, got.refresh_token) == ("tok-" + SECRET, "r-" + SECRET)

    await until(stored_again, what="the stored token again")


async def test_what_cannot_be_had_says_why_without_a_secret(
    api: httpx.AsyncClient, config_svc: ServiceProcess, nc: Client
) -> None:
    acme = await partner(api, "acme", {"type": "basic", "username": "a", "password": SECRET})
    plain = await partner(api, "plain", {"type": "none"})
    wrong_key = ConfigCredentials(nc, SecretBox(generate_master_key()), timeout=2)
    with pytest.raises(CredentialsUnavailableError, match="AS2BUS_MASTER_KEY") as err:
        await wrong_key.get(acme)
    assert SECRET not in str(err.value)
    right = ConfigCredentials(nc, SecretBox(MASTER_KEY), timeout=2)
    assert await right.get(plain) == Credentials()
    with pytest.raises(CredentialsUnavailableError, match="has no partner"):
        await right.get(uuid.uuid4())
    assert (await right.get(acme)).password == SECRET

    config_svc.stop()  # config-svc gone: cached partners still work, others cannot be had
    assert (await right.get(acme)).password == SECRET
    with pytest.raises(CredentialsUnavailableError, match="did not answer"):
        await right.get(uuid.uuid4())
