"""Each notice's link into the console: a message's TrackLog entry by its Message-ID, a
partner's health, the certificates; every value URL-encoded; no link without the console's
address, and a setting that is not an address refused with a sentence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from as2bus.contracts import Failure, MessageFailed
from as2bus.notify.adapters.email import compose
from as2bus.notify.domain.incidents import Rule
from as2bus.notify.domain.links import console_link
from as2bus.notify.service import Notifier
from as2bus.notify.settings import NotifySettings

from ..fakes import FakeSetup, Store, Units

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BASE = "https://ops.example.com/as2"


def test_a_message_is_found_by_its_message_id_encoded() -> None:
    link = console_link(BASE, "message-failed", "ACME", ("<a&b#c d@us>",))
    assert link == f"{BASE}/tracklog?q=%3Ca%26b%23c%20d%40us%3E"


def test_several_messages_are_the_partners_failed_ones_not_yet_resent() -> None:
    link = console_link(BASE + "/", "message-failed", "A&B Co", ("<1@us>", "<2@us>"))
    assert link == f"{BASE}/tracklog?partner=A%26B%20Co&status=failed&resent=false"


def test_partners_go_to_health_and_certificates_to_certificates() -> None:
    assert console_link(BASE, "partner-unreachable", "ACME", ()) == f"{BASE}/health"
    assert console_link(BASE, "mdn-overdue", "ACME", ()) == f"{BASE}/health"
    assert console_link(BASE, "certificate-expiring", "myco", ()) == f"{BASE}/certificates"


def test_without_the_consoles_address_there_is_no_link() -> None:
    assert console_link(None, "partner-unreachable", "ACME", ()) is None


def failure(message_id: str) -> MessageFailed:
    data = Failure(request_id="r", message_id=message_id, station="US", partner="ACME",
                   attempts=1, reason="HTTP 403", code="partner-refused")  # fmt: skip
    return MessageFailed(data=data, occurred_at=T0)


@pytest.mark.parametrize("console", [None, BASE])
async def test_the_notice_and_its_email_carry_the_link_only_when_configured(
    console: str | None,
) -> None:
    store = Store()
    rule = Rule("r", "failed", "message-failed", 0, 60, ("mail",))
    service = Notifier(Units(store), FakeSetup([rule]), clock=lambda: T0, console_url=console)
    await service.handle(failure("<m1@us>"))
    (delivery,) = store.deliveries.values()
    target = {"sender": "as2bus@example.com", "recipients": ["ops@example.com"]}
    body = compose(target, delivery.payload).get_content()
    if console is None:
        assert "link" not in delivery.payload
        assert "Console:" not in body
    else:
        assert delivery.payload["link"] == f"{BASE}/tracklog?q=%3Cm1%40us%3E"
        assert f"Console:     {BASE}/tracklog?q=%3Cm1%40us%3E" in body


def test_the_setting_must_be_an_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AS2BUS_NOTIFY_CONSOLE_URL", "console.example.com")
    with pytest.raises(ValidationError, match="the console's address"):
        NotifySettings()
    monkeypatch.setenv("AS2BUS_NOTIFY_CONSOLE_URL", "https://console.example.com/")
    assert NotifySettings().console_url == "https://console.example.com"
