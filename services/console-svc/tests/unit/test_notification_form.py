"""The Notifications forms without I/O: where each refusal goes, how a delivery and a rule's
minutes read, and the audit trail's entries of channel and rule changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from as2bus.console.domain.audit import ENTITIES, audit_entry
from as2bus.console.domain.audit_reading import describe_change
from as2bus.console.domain.notification_form import (
    channel_body,
    channel_field,
    delivery_outcome,
    minutes_text,
    rule_body,
    rule_errors,
)


@pytest.mark.parametrize(
    ("api_field", "form_field"),
    [
        ("name", "name"),
        ("target.webhook.url", "url"),
        ("target.secret", "secret"),
        ("target.email.recipients.3", "recipients"),
        ("target.email.password", "password"),
        ("target.email", "security"),  # credentials without TLS: a rule of the whole target
        ("target", "security"),
    ],
)
def test_each_api_field_lands_on_its_form_field(api_field: str, form_field: str) -> None:
    assert channel_field(api_field) == form_field


def test_a_rules_refusals_land_next_to_their_fields_or_on_top() -> None:
    by_field, on_top = rule_errors({
        "channel_ids": "no notification channel 1234", "minutes": "Input should be a valid number",
        "channel_ids.0": "Input should be a valid UUID", "": "refused (409)",
    })  # fmt: skip
    assert by_field == {"channel_ids": "Tell these channels must be one of those offered",
                        "minutes": "After (minutes) must be a number"}  # fmt: skip
    assert on_top == ["refused (409)"]


@pytest.mark.parametrize(
    ("delivery", "outcome"),
    [
        ({"state": "sent", "attempts": 1}, ("delivered", "sent")),
        ({"state": "pending", "attempts": 0}, ("sending", "sending")),
        ({"state": "pending", "attempts": 3}, ("retrying", "retrying (3 failed)")),
        ({"state": "failed", "attempts": 1}, ("failed", "failed after 1 attempt")),
        ({"state": "failed", "attempts": 12}, ("failed", "failed after 12 attempts")),
    ],
)
def test_a_delivery_reads_as_sent_failed_retrying_or_sending(
    delivery: dict[str, Any], outcome: tuple[str, str]
) -> None:
    assert delivery_outcome(delivery) == outcome


def test_minutes_read_in_words() -> None:
    assert [minutes_text(m) for m in (0, 0.05, 0.5, 15, 90)] == [
        "at once", "3 s", "30 s", "15 min", "90 min",
    ]  # fmt: skip


def test_numbers_go_as_numbers_and_anything_else_as_typed_for_the_api_to_name() -> None:
    body, mistakes = rule_body(
        {"name": "r", "kind": "mdn-overdue", "minutes": "soon", "repeat_minutes": "0.5",
         "enabled": "off"}, ["c1"], None,
    )  # fmt: skip
    assert body["minutes"] == "soon"
    assert body["repeat_minutes"] == 0.5
    assert body["enabled"] is False
    assert mistakes == {}


def test_a_webhook_update_without_a_secret_sends_no_target_when_the_url_is_the_same() -> None:
    stored = {
        "name": "hook",
        "enabled": True,
        "target": {"type": "webhook", "url": "https://h.example/x", "secret_set": True},
    }
    form = {"name": "hook", "enabled": "on", "url": "https://h.example/x", "secret": ""}
    assert channel_body("webhook", form, stored) == ({}, {})
    body, _ = channel_body("webhook", {**form, "secret": "a-new-secret-0123456"}, stored)
    assert body == {"target": {"type": "webhook", "url": "https://h.example/x",
                               "secret": "a-new-secret-0123456"}}  # fmt: skip


def test_channel_and_rule_changes_are_in_the_audit_trail_by_name_secrets_by_name_only() -> None:
    event = {
        "event_id": str(uuid.uuid4()), "occurred_at": "2026-12-04T10:00:00+00:00",
        "event_type": "NotificationChannelUpdated",
        "data": {"id": str(uuid.uuid4()), "name": "ops hook", "target": {"type": "webhook"}},
        "audit": {"actor": "ann@example.com via API token 1234abcd (admin)",
                  "changes": {"secret secret": {"to": "replaced"}}},
    }  # fmt: skip
    entry = audit_entry(event)
    assert entry is not None
    assert (entry.entity, entry.action, entry.label) == ("notify-channel", "updated", "ops hook")
    assert describe_change("secret secret", entry.changes["secret secret"]) == "Secret: replaced"
    deleted = audit_entry({**event, "event_type": "NotificationRuleDeleted", "audit": {}})
    assert deleted is not None
    assert (deleted.entity, deleted.action) == ("notify-rule", "deleted")
    assert all(len(name) <= 16 for name in ENTITIES)  # the audit table's column
