"""End to end with real NATS, config-svc and notify-svc processes (SQLite) and a real webhook
receiver: a failed message's incident stays open while other messages get through and is
resolved by its resend's delivery; a rule created while a partner is down counts from the
first failure; a certificate rule created after cert-svc's warning is told at once, without
waiting for the incident clock (set to ten minutes here) or cert-svc's next check. Each notice
links to its page in the console (AS2BUS_NOTIFY_CONSOLE_URL), its values URL-encoded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from as2bus.contracts import CertExpiring, MessageDelivered, MessageQueued, MessageRetrying
from as2bus.contracts.certs import CertExpiry
from as2bus.contracts.outbound import OutboundMessage, Retry
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import nothing_within, until

from .receivers import WebhookReceiver
from .test_other_kinds import delivered, failed, told
from .test_partner_down_and_up import AUTH, HOOK_SECRET, env, publish

CONSOLE = "https://console.example.com"


class Running:
    """config-svc with one webhook channel, and notify-svc running before any rule exists."""

    def __init__(self, nats_url: str, tmp_path: Path, receiver: WebhookReceiver) -> None:
        key = generate_master_key()
        self.nats_url = nats_url
        self.config = ServiceProcess("as2bus.config", env(nats_url, tmp_path / "c.db", key),
                                     tmp_path / "config.log").start()  # fmt: skip
        self.channel_id = self._post("/notification-channels", {
            "name": "ops webhook",
            "target": {"type": "webhook", "url": receiver.url, "secret": HOOK_SECRET},
        })["id"]  # fmt: skip
        notify_env = env(nats_url, tmp_path / "n.db", key, AS2BUS_NOTIFY_TICK_SECONDS="600",
                         AS2BUS_NOTIFY_DISPATCH_SECONDS="0.2",
                         AS2BUS_NOTIFY_CONSOLE_URL=f"{CONSOLE}/")  # fmt: skip
        self.notify = ServiceProcess("as2bus.notify", notify_env, tmp_path / "notify.log").start()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{self.config.base_url}/api/v1{path}", json=body, headers=AUTH)
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    def rule(self, kind: str, minutes: float) -> None:
        self._post("/notification-rules", {
            "name": kind, "kind": kind, "minutes": minutes, "repeat_minutes": 60,
            "channel_ids": [self.channel_id],
        })  # fmt: skip

    def stop(self) -> None:
        self.notify.stop()
        self.config.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    made = WebhookReceiver()
    yield made
    made.close()


@pytest.fixture
def running(nats_url: str, tmp_path: Path, receiver: WebhookReceiver) -> Iterator[Running]:
    made = Running(nats_url, tmp_path, receiver)
    yield made
    made.stop()
    assert HOOK_SECRET not in made.notify.log() + made.config.log()


def resend_of(original: str, partner: str) -> tuple[MessageQueued, str]:
    message_id = f"<{uuid.uuid4()}@us>"
    data = OutboundMessage(request_id=str(uuid.uuid4()), message_id=message_id, station="US",
                           partner=partner, filename="po.edi", content_type="application/edi-x12",
                           size=10, replays=original)  # fmt: skip
    return MessageQueued(data=data), message_id


async def test_a_failed_message_resolves_when_its_resend_is_delivered_not_before(
    running: Running, receiver: WebhookReceiver
) -> None:
    partner = f"FAILCO-{uuid.uuid4().hex[:6]}"
    running.rule("message-failed", minutes=0)
    first = failed(partner, "partner-refused", "HTTP 403 from partner")
    await publish(running.nats_url, [first])
    await until(lambda: receiver.hooks, what="the failure notice", timeout=15)
    assert first.data.message_id is not None
    encoded = quote(first.data.message_id, safe="")  # <, @ and > encoded
    assert told(receiver)[0]["link"] == f"{CONSOLE}/tracklog?q={encoded}"

    await publish(running.nats_url, [delivered(partner)])  # another message gets through
    await nothing_within(2, lambda: len(receiver.hooks) > 1, what="a recovery by another message")

    queued, resend_id = resend_of(first.data.message_id, partner)
    got = delivered(partner).data.model_copy(update={"message_id": resend_id})
    resend_delivered = MessageDelivered(data=got)
    await publish(running.nats_url, [queued, resend_delivered])
    await until(lambda: len(receiver.hooks) == 2, what="the recovery notice", timeout=15)
    resolved = told(receiver)[1]
    assert (resolved["state"], resolved["subject"]) == ("resolved", partner)
    assert f"The failed messages to partner {partner} were sent again and delivered" in str(
        resolved["summary"]
    )


async def test_a_rule_created_while_a_partner_is_down_counts_from_the_first_failure(
    running: Running, receiver: WebhookReceiver
) -> None:
    partner = f"DOWNCO-{uuid.uuid4().hex[:6]}"
    began = datetime.now(UTC) - timedelta(minutes=25)
    data = Retry(request_id="r1", message_id=f"<{uuid.uuid4()}@us>", station="US",
                 partner=partner, attempt=1, reason="connection refused (test)",
                 next_attempt_at=began)  # fmt: skip
    await publish(running.nats_url, [MessageRetrying(data=data, occurred_at=began)])
    await nothing_within(1, lambda: receiver.hooks, what="a notice without a rule")
    running.rule("partner-unreachable", minutes=10)  # down 25 minutes: past its 10 already
    await until(lambda: receiver.hooks, what="the notice of the rule that came later", timeout=15)
    (down,) = told(receiver)
    assert down["first_seen"] == began.isoformat()
    assert down["link"] == f"{CONSOLE}/health"
    assert f"not been reachable since {began:%Y-%m-%d %H:%M:%S} UTC" in str(down["summary"])

    await publish(running.nats_url, [delivered(partner)])
    await until(lambda: len(receiver.hooks) == 2, what="the recovery notice", timeout=15)
    assert "The trouble lasted 25 minutes" in str(told(receiver)[1]["summary"])


async def test_a_new_certificate_rule_is_told_of_a_warning_given_before_it_at_once(
    running: Running, receiver: WebhookReceiver
) -> None:
    alias = f"myco-{uuid.uuid4().hex[:6]}"
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=14)
    expiry = CertExpiry(certificate_id=uuid.uuid4(), alias=alias, kind="own",
                        fingerprint_sha256="cd" * 32, subject=f"CN={alias}",
                        not_after=not_after, days_left=14, threshold_days=14)  # fmt: skip
    await publish(running.nats_url, [CertExpiring(data=expiry)])
    await nothing_within(1, lambda: receiver.hooks, what="a notice without a rule")
    running.rule("certificate-expiring", minutes=0)
    await until(lambda: receiver.hooks, what="the expiry notice of the new rule", timeout=10)
    (notice,) = told(receiver)
    assert (notice["kind"], notice["subject"], notice["state"]) == (
        "certificate-expiring", alias, "firing",
    )  # fmt: skip
    assert f"expires on {not_after:%Y-%m-%d} (14 days left)" in str(notice["summary"])
    assert notice["link"] == f"{CONSOLE}/certificates"
