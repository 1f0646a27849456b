"""The rule kinds besides partner-unreachable, end to end with real NATS, config-svc and
notify-svc processes and a real webhook receiver (small minutes in the rules, so each test
takes seconds): failed messages are one notice, then a summary counting them at most every
``repeat_minutes``, and one recovery notice once every one was sent again and delivered; an
MDN overdue is a failure with code ``mdn-deadline``, and no other; a certificate expiring is
one notice, and its new certificate one recovery notice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from as2bus.contracts import (
    CertExpiring,
    CertificateSummary,
    CertRotated,
    Delivery,
    Event,
    Failure,
    MessageDelivered,
    MessageFailed,
    MessageQueued,
)
from as2bus.contracts.certs import CertExpiry, CertRotation
from as2bus.contracts.outbound import OutboundMessage
from as2bus.shared.crypto import generate_master_key
from as2bus.testing.services import ServiceProcess
from as2bus.testing.waiting import nothing_within, until

from .receivers import WebhookReceiver
from .test_partner_down_and_up import AUTH, HOOK_SECRET, env, publish, verified

REPEAT_SECONDS = 3.0


@dataclass
class Gateway:
    """config-svc with one webhook channel to ``receiver``, and notify-svc started after the
    test's rules are in (it reads the events that come after its start)."""

    nats_url: str
    tmp_path: Path
    receiver: WebhookReceiver

    def __post_init__(self) -> None:
        key = generate_master_key()
        self.config = ServiceProcess("as2bus.config", env(self.nats_url, self.tmp_path / "c.db",
                                     key), self.tmp_path / "config.log").start()  # fmt: skip
        notify_env = env(
            self.nats_url,
            self.tmp_path / "n.db",
            key,
            AS2BUS_NOTIFY_TICK_SECONDS="0.3",
            AS2BUS_NOTIFY_DISPATCH_SECONDS="0.2",
        )
        self.notify = ServiceProcess("as2bus.notify", notify_env, self.tmp_path / "notify.log")
        self.channel_id = self._config("/notification-channels", {
            "name": "ops webhook",
            "target": {"type": "webhook", "url": self.receiver.url, "secret": HOOK_SECRET},
        })["id"]  # fmt: skip

    def _config(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{self.config.base_url}/api/v1{path}", json=body, headers=AUTH)
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    def start(self, kind: str, minutes: float, repeat_minutes: float = 60) -> None:
        self._config("/notification-rules", {
            "name": kind, "kind": kind, "minutes": minutes, "repeat_minutes": repeat_minutes,
            "channel_ids": [self.channel_id],
        })  # fmt: skip
        self.notify.start()

    def notify_api(self, path: str) -> Any:
        return httpx.get(f"{self.notify.base_url}/api/v1{path}", headers=AUTH).json()

    def stop(self) -> None:
        self.notify.stop()
        self.config.stop()


@pytest.fixture
def gateway(nats_url: str, tmp_path: Path) -> Iterator[Gateway]:
    receiver = WebhookReceiver()
    made = Gateway(nats_url, tmp_path, receiver)
    yield made
    made.stop()
    receiver.close()
    assert HOOK_SECRET not in made.notify.log() + made.config.log()


def failed(partner: str, code: str, reason: str) -> MessageFailed:
    data = Failure(request_id=str(uuid.uuid4()), message_id=f"<{uuid.uuid4()}@us>", station="US",
                   partner=partner, attempts=1, reason=reason, code=code)  # fmt: skip
    return MessageFailed(data=data)


def delivered(partner: str) -> MessageDelivered:
    data = Delivery(request_id="r-ok", message_id="<ok@us>", station="US", partner=partner,
                    attempts=1, status="delivered")  # fmt: skip
    return MessageDelivered(data=data)


def resent(original: MessageFailed, message_id: str) -> tuple[MessageQueued, MessageDelivered]:
    """The resend of a failed message (its MessageQueued names the original) and its delivery."""
    was = original.data
    assert was.message_id is not None
    queued = OutboundMessage(request_id=f"r-{message_id}", message_id=message_id,
                             station=was.station, partner=was.partner, filename="po.edi",
                             content_type="application/edi-x12", size=10,
                             replays=was.message_id)  # fmt: skip
    got = Delivery(request_id=f"r-{message_id}", message_id=message_id, station=was.station,
                   partner=was.partner, attempts=1, status="delivered")  # fmt: skip
    return MessageQueued(data=queued), MessageDelivered(data=got)


def told(receiver: WebhookReceiver) -> list[dict[str, Any]]:
    """Every notice received so far, its signature checked."""
    return [verified(h.headers, h.body) for h in receiver.hooks]


async def test_failed_messages_are_one_notice_then_a_summary_at_most_every_repeat_minutes(
    gateway: Gateway,
) -> None:
    partner = f"FAILCO-{uuid.uuid4().hex[:6]}"
    receiver = gateway.receiver
    gateway.start("message-failed", minutes=0, repeat_minutes=REPEAT_SECONDS / 60)

    failures = [failed(partner, "partner-refused", "HTTP 403 from partner")]
    await publish(gateway.nats_url, list[Event](failures))
    await until(lambda: receiver.hooks, what="the first notice", timeout=15)
    (first,) = told(receiver)
    assert (first["kind"], first["subject"]) == ("message-failed", partner)
    assert first["state"] == "firing"
    assert (first["title"], first["count"]) == (f"FIRING: messages to {partner} failed", 1)
    assert f"1 message to partner {partner} failed for good since" in str(first["summary"])
    assert "HTTP 403 from partner" in str(first["summary"])

    failures += [failed(partner, "mdn-failed", f"no. {n}") for n in range(4)]
    await publish(gateway.nats_url, list[Event](failures[1:]))
    (incident,) = await until(
        lambda: [i for i in gateway.notify_api("/incidents") if i["count"] == 5],
        what="the incident counting five failures",
    )  # fmt: skip
    assert (incident["state"], incident["subject"]) == ("firing", partner)
    await until(lambda: len(receiver.hooks) == 2, what="the summary", timeout=15)
    summary = told(receiver)[1]
    assert receiver.hooks[1].at - receiver.hooks[0].at >= REPEAT_SECONDS * 0.9
    assert (summary["state"], summary["count"], summary["new_count"]) == ("firing", 5, 4)
    assert summary["title"] == f"STILL FIRING: messages to {partner} failed"
    assert str(summary["summary"]).startswith("Still open: 4 messages more since the last notice.")
    # Nothing new, nothing said: no summary of a count that did not grow.
    await nothing_within(REPEAT_SECONDS + 1, lambda: len(receiver.hooks) > 2,
                         what="a summary without new failures")  # fmt: skip

    # Another message getting through settles none of them; each one's resend delivered does.
    await publish(gateway.nats_url, [delivered(partner)])
    resends = [resent(f, f"<again-{n}@us>") for n, f in enumerate(failures)]
    await publish(gateway.nats_url, [event for pair in resends[:4] for event in pair])
    await nothing_within(1.5, lambda: len(receiver.hooks) > 2, what="a recovery too early")
    await publish(gateway.nats_url, list(resends[4]))
    await until(lambda: len(receiver.hooks) == 3, what="the recovery notice", timeout=15)
    resolved = told(receiver)[2]
    assert (resolved["state"], resolved["count"]) == ("resolved", 5)
    assert f"The failed messages to partner {partner} were sent again and delivered" in str(
        resolved["summary"]
    )
    assert gateway.notify_api("/incidents") == []
    assert [d["state"] for d in gateway.notify_api("/deliveries")] == ["sent"] * 3


async def test_an_mdn_overdue_is_a_failure_with_code_mdn_deadline_and_no_other(
    gateway: Gateway,
) -> None:
    partner = f"SLOWCO-{uuid.uuid4().hex[:6]}"
    receiver = gateway.receiver
    gateway.start("mdn-overdue", minutes=0)

    await publish(gateway.nats_url, [
        failed(partner, "partner-refused", "HTTP 403 from partner"),
        failed(partner, "mdn-signature-invalid", "the MDN's signature does not verify"),
    ])  # fmt: skip
    await nothing_within(2, lambda: receiver.hooks, what="an MDN-overdue notice of other failures")
    await publish(gateway.nats_url, [failed(partner, "mdn-deadline",
                                            "no MDN within 60 minutes")])  # fmt: skip
    await until(lambda: receiver.hooks, what="the MDN-overdue notice", timeout=15)
    (notice,) = told(receiver)
    assert (notice["kind"], notice["subject"], notice["count"]) == ("mdn-overdue", partner, 1)
    assert notice["title"] == f"FIRING: MDNs from {partner} overdue"
    assert "because the partner's receipt (MDN) did not arrive in time" in str(notice["summary"])
    assert "no MDN within 60 minutes" in str(notice["summary"])

    await publish(gateway.nats_url, [delivered(partner)])
    await until(lambda: len(receiver.hooks) == 2, what="the recovery notice", timeout=15)
    assert (told(receiver)[1]["state"], told(receiver)[1]["kind"]) == ("resolved", "mdn-overdue")


def certificate(alias: str, not_after: datetime) -> CertificateSummary:
    return CertificateSummary(
        id=uuid.uuid4(), alias=alias, kind="own", subject=f"CN={alias}", issuer=f"CN={alias}",
        serial="01", fingerprint_sha256="ab" * 32, not_before=not_after - timedelta(days=365),
        not_after=not_after, activation_at=not_after - timedelta(days=365), cert_pem="(pem)",
    )  # fmt: skip


async def test_a_certificate_expiring_is_told_once_and_its_new_certificate_clears_it(
    gateway: Gateway,
) -> None:
    alias = f"myco-{uuid.uuid4().hex[:6]}"
    receiver = gateway.receiver
    gateway.start("certificate-expiring", minutes=0)
    old_until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=14)

    expiry = CertExpiry(certificate_id=uuid.uuid4(), alias=alias, kind="own",
                        fingerprint_sha256="cd" * 32, subject=f"CN={alias}",
                        not_after=old_until, days_left=14, threshold_days=14)  # fmt: skip
    await publish(gateway.nats_url, [CertExpiring(data=expiry)])
    await until(lambda: receiver.hooks, what="the expiry notice", timeout=15)
    (notice,) = told(receiver)
    assert (notice["kind"], notice["subject"], notice["state"]) == (
        "certificate-expiring", alias, "firing",
    )  # fmt: skip
    assert notice["title"] == f"FIRING: certificate {alias} expiring"
    assert "link" not in notice  # no console address configured: no link
    assert f"expires on {old_until:%Y-%m-%d} (14 days left)" in str(notice["summary"])
    # The next threshold's warning adds to the incident; the repeat interval is an hour.
    later = expiry.model_copy(update={"days_left": 7, "threshold_days": 7})
    await publish(gateway.nats_url, [CertExpiring(data=later)])
    await nothing_within(1.5, lambda: len(receiver.hooks) > 1, what="a second expiry notice")

    renewed = certificate(alias, old_until + timedelta(days=365))
    rotation = CertRotation(alias=alias, kind="own", change="new-certificate",
                            certificate=renewed)  # fmt: skip
    await publish(gateway.nats_url, [CertRotated(data=rotation)])
    await until(lambda: len(receiver.hooks) == 2, what="the recovery notice", timeout=15)
    cleared = told(receiver)[1]
    assert (cleared["state"], cleared["subject"], cleared["count"]) == ("resolved", alias, 2)
    assert f"Certificate {alias} was replaced at" in str(cleared["summary"])
    assert gateway.notify_api("/incidents") == []
    assert [d["state"] for d in gateway.notify_api("/deliveries")] == ["sent", "sent"]
