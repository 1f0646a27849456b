"""The issue's promise, end to end: real NATS, config-svc and notify-svc processes, a real
SMTP server (STARTTLS and a login required) and a real HTTP receiver. A partner failing for
longer than the rule's minutes is one webhook (its HMAC checked here) and one e-mail; fifty
more failures, and a restart of notify-svc in between, send nothing more; a delivered message
is exactly one recovery webhook and one recovery e-mail."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from as2bus.contracts import Delivery, Event, MessageDelivered, MessageRetrying
from as2bus.contracts.outbound import Retry
from as2bus.shared.bus import open_bus, publish_event
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.services import ServiceProcess
from as2bus.testing.tls import PrivateCa
from as2bus.testing.waiting import nothing_within, until

from .receivers import SmtpServer, WebhookReceiver

TOKEN = "notify-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOOK_SECRET = "whsec-0123456789abcdef"
SMTP_PASSWORD = "smtp-pass-9876543210"
RULE_SECONDS = 3.0


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(PrivateCa(), "notify", SMTP_PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    made = WebhookReceiver()
    yield made
    made.close()


def env(nats_url: str, db: Path, master_key: str, **extra: str) -> dict[str, str]:
    return {
        "AS2BUS_NATS_URL": nats_url, "AS2BUS_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "AS2BUS_API_TOKEN": TOKEN, "AS2BUS_MASTER_KEY": master_key,
        "AS2BUS_RELAY_IDLE_SECONDS": "0.2", **extra,
    }  # fmt: skip


def retrying(partner: str) -> MessageRetrying:
    data = Retry(request_id=str(uuid.uuid4()), message_id=f"<{uuid.uuid4()}@us>", station="US",
                 partner=partner, attempt=1, reason="connection refused (test)",
                 next_attempt_at=datetime.now(UTC))  # fmt: skip
    return MessageRetrying(data=data)


def delivered(partner: str) -> MessageDelivered:
    data = Delivery(request_id="r-ok", message_id="<ok@us>", station="US", partner=partner,
                    attempts=1, status="delivered")  # fmt: skip
    return MessageDelivered(data=data)


async def publish(nats_url: str, events: list[Event]) -> None:
    bus = await open_bus(nats_url, name="notify-test")
    try:
        for event in events:
            await publish_event(bus.broker, event)
    finally:
        await bus.close()


def verified(hook_headers: dict[str, str], body: bytes) -> dict[str, object]:
    """The receiver's check, as docs/operations.md tells it: HMAC-SHA256 of
    ``<timestamp>.<body>`` under the shared secret, compared in constant time."""
    headers = {k.lower(): v for k, v in hook_headers.items()}
    timestamp = headers["x-as2bus-timestamp"]
    expected = hmac.new(HOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(headers["x-as2bus-signature"], f"sha256={expected.hexdigest()}")
    assert abs(time.time() - int(timestamp)) < 60
    payload: dict[str, object] = json.loads(body)
    assert headers["x-as2bus-notification-id"] == payload["id"]
    return payload


async def test_one_notice_when_a_partner_goes_down_and_one_when_it_recovers(
    nats_url: str, tmp_path: Path, smtp: SmtpServer, receiver: WebhookReceiver
) -> None:
    key = generate_master_key()
    config = ServiceProcess("as2bus.config", env(nats_url, tmp_path / "config.db", key),
                            tmp_path / "config.log").start()  # fmt: skip
    notify_env = env(nats_url, tmp_path / "notify.db", key, AS2BUS_NOTIFY_TICK_SECONDS="0.5",
                     AS2BUS_NOTIFY_DISPATCH_SECONDS="0.2")  # fmt: skip
    notify = ServiceProcess("as2bus.notify", notify_env, tmp_path / "notify.log")
    partner = f"ACME-{uuid.uuid4().hex[:6]}"
    try:
        async with httpx.AsyncClient(base_url=config.base_url + "/api/v1", headers=AUTH) as api:
            hook = await api.post("/notification-channels", json={
                "name": "ops webhook",
                "target": {"type": "webhook", "url": receiver.url, "secret": HOOK_SECRET},
            })  # fmt: skip
            assert hook.status_code == 201, hook.text
            assert hook.json()["target"]["secret_set"] is True
            assert HOOK_SECRET not in hook.text
            mail = await api.post("/notification-channels", json={
                "name": "ops mail",
                "target": {
                    "type": "email", "host": "127.0.0.1", "port": smtp.port,
                    "username": "notify", "password": SMTP_PASSWORD,
                    "sender": "as2bus@example.com", "recipients": ["ops@example.com"],
                    "ca_bundle_pem": smtp.ca.cert_pem.decode(),
                },
            })  # fmt: skip
            assert mail.status_code == 201, mail.text
            assert mail.json()["target"]["password_set"] is True
            rule = await api.post("/notification-rules", json={
                "name": "partner down", "kind": "partner-unreachable",
                "minutes": RULE_SECONDS / 60, "repeat_minutes": 60,
                "channel_ids": [hook.json()["id"], mail.json()["id"]],
            })  # fmt: skip
            assert rule.status_code == 201, rule.text
        notify.start()

        began = time.monotonic()
        await publish(nats_url, [retrying(partner) for _ in range(3)])
        await until(lambda: receiver.hooks and smtp.mails, what="a webhook and an e-mail",
                    timeout=30)  # fmt: skip
        assert time.monotonic() - began >= RULE_SECONDS * 0.9  # not before the rule's minutes
        await nothing_within(1.5, lambda: len(receiver.hooks) > 1 or len(smtp.mails) > 1,
                             what="a second notice of the same outage")  # fmt: skip
        down = verified(receiver.hooks[0].headers, receiver.hooks[0].body)
        assert (down["kind"], down["subject"], down["state"]) == (
            "partner-unreachable",
            partner,
            "firing",
        )
        assert down["count"] == 3
        assert f"Partner {partner} has not been reachable since" in str(down["summary"])
        (letter,) = smtp.mails
        assert letter.over_tls
        assert letter.login == "notify"
        assert letter.recipients == ["ops@example.com"]
        assert letter.message["Subject"] == f"[as2bus] FIRING: partner {partner} unreachable"
        assert f"Partner {partner} has not been reachable" in letter.message.get_content()

        # A restart in between, then fifty more failures: nothing is sent again.
        notify.stop()
        notify.start()
        await publish(nats_url, [retrying(partner) for _ in range(50)])
        await nothing_within(4, lambda: len(receiver.hooks) > 1 or len(smtp.mails) > 1,
                             what="a notice repeated after the restart")  # fmt: skip

        await publish(nats_url, [delivered(partner)])
        await until(lambda: len(receiver.hooks) == 2 and len(smtp.mails) == 2,
                    what="the recovery webhook and e-mail", timeout=20)  # fmt: skip
        await nothing_within(2, lambda: len(receiver.hooks) > 2 or len(smtp.mails) > 2,
                             what="a third notice")  # fmt: skip
        up = verified(receiver.hooks[1].headers, receiver.hooks[1].body)
        assert (up["subject"], up["state"], up["count"]) == (partner, "resolved", 53)
        assert f"Partner {partner} is reachable again" in str(up["summary"])
        assert smtp.mails[1].message["Subject"] == (
            f"[as2bus] RESOLVED: partner {partner} unreachable"
        )
        async with httpx.AsyncClient(base_url=notify.base_url, headers=AUTH) as api:
            assert (await api.get("/api/v1/incidents")).json() == []
            states = [d["state"] for d in (await api.get("/api/v1/deliveries")).json()]
            assert states == ["sent"] * 4
        for secret in (HOOK_SECRET, SMTP_PASSWORD):
            assert secret not in notify.log()
            assert secret not in config.log()
    finally:
        notify.stop()
        config.stop()
