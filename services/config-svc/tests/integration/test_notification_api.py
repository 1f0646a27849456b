"""The notification channels and rules API of a real config-svc process, on SQLite and on
PostgreSQL: every refusal is one sentence per field; the webhook's secret and the SMTP password
are in no response, no event and no log line; an update that leaves a secret out keeps the
stored one (as notify-svc gets it: sealed, over NATS, opened with the master key)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import nats
from nats.js import JetStreamContext

from as2bus.contracts.notifications import (
    SETUP_SUBJECT,
    NotificationSetupReply,
    NotificationSetupRequest,
    channel_secrets_context,
)
from as2bus.shared.crypto import SecretBox
from as2bus.testing.services import ServiceProcess

from .conftest import payloads, wait_for_events

HOOK_SECRET = "whsec-0123456789abcdef-hook"
SMTP_PASSWORD = "smtp-pass-9876543210-mail"
SECRETS = (HOOK_SECRET, SMTP_PASSWORD, "whsec-rotated-fedcba9876543210")
CHANNELS, RULES = "/api/v1/notification-channels", "/api/v1/notification-rules"
WEBHOOK = {"type": "webhook", "url": "https://hooks.example.com/as2bus", "secret": HOOK_SECRET}
EMAIL = {
    "type": "email", "host": "smtp.example.com", "username": "as2bus",
    "password": SMTP_PASSWORD, "sender": "as2bus@example.com", "recipients": ["ops@example.com"],
}  # fmt: skip


async def created(api_on_db: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api_on_db.post(path, json=body)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def one_sentence_per_field(answer: httpx.Response) -> dict[str, str]:
    """The refusal's field → sentence, checked: a 422 whose every item names a field (more
    than "body"), once, with one line of words (no traceback, no echo of the input)."""
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    fields: dict[str, str] = {}
    for item in detail:
        loc = [str(part) for part in item["loc"]]
        assert loc[0] == "body", item
        assert len(loc) > 1, f"no field named: {item}"
        name = ".".join(loc[1:])
        assert name not in fields, f"{name} refused twice: {detail}"
        message = str(item["msg"]).removeprefix("Value error, ")
        assert message, item
        assert "\n" not in message, item
        assert len(message) < 300, item
        assert "Traceback" not in message, item
        assert "input" not in item, item  # never the value typed back
        fields[name] = message
    return fields


CHANNEL_MISTAKES: list[tuple[dict[str, Any], str, str]] = [
    ({"name": "", "target": WEBHOOK}, "name", "at least 1 character"),
    ({"name": "a\nb", "target": WEBHOOK}, "name", "String should match pattern"),
    ({"name": "h", "target": {**WEBHOOK, "url": "ftp://x"}}, "target.webhook.url",
     "must be an http:// or https:// URL"),
    ({"name": "h", "target": {**WEBHOOK, "url": "http://hooks.example.com/"}},
     "target.webhook.url", "must be https:// (http:// only to this machine"),
    ({"name": "h", "target": {**WEBHOOK, "secret": "short"}}, "target.webhook.secret",
     "must be at least 16 characters"),
    ({"name": "h", "target": {"type": "webhook", "url": WEBHOOK["url"]}}, "target.secret",
     "a webhook needs a secret"),
    ({"name": "h", "target": {**WEBHOOK, "colour": "red"}}, "target.webhook.colour",
     "Extra inputs are not permitted"),
    ({"name": "h", "target": {"type": "sms"}}, "target", "does not match any of the expected"),
    ({"name": "m", "target": {**EMAIL, "port": 70000}}, "target.email.port",
     "less than or equal to 65535"),
    ({"name": "m", "target": {**EMAIL, "security": "ssl"}}, "target.email.security",
     "'starttls', 'tls' or 'none'"),
    ({"name": "m", "target": {**EMAIL, "recipients": []}}, "target.email.recipients",
     "at least 1 item"),
    ({"name": "m", "target": {**EMAIL, "recipients": ["ops"]}}, "target.email.recipients.0",
     "String should match pattern"),
    ({"name": "m", "target": {**EMAIL, "sender": "nobody"}}, "target.email.sender",
     "String should match pattern"),
    ({"name": "m", "target": {**EMAIL, "ca_bundle_pem": "not pem"}},
     "target.email.ca_bundle_pem", "must hold PEM certificates"),
    ({"name": "m", "target": {**EMAIL, "security": "none"}}, "target.email",
     "SMTP credentials are sent only over TLS"),
]  # fmt: skip


async def test_every_refusal_is_one_sentence_per_field_and_never_repeats_a_secret(
    api_on_db: httpx.AsyncClient, config_on_db: ServiceProcess, js: JetStreamContext
) -> None:
    for body, field, says in CHANNEL_MISTAKES:
        fields = one_sentence_per_field(await api_on_db.post(CHANNELS, json=body))
        assert field in fields, (body, fields)
        assert says in fields[field], (field, fields[field])
        assert not any(secret in json.dumps(fields) for secret in SECRETS)
    hook = await created(api_on_db, CHANNELS, {"name": "ops hook", "target": WEBHOOK})
    rule: dict[str, Any] = {"name": "down", "kind": "partner-unreachable",
                            "channel_ids": [hook["id"]]}  # fmt: skip
    rule_mistakes: list[tuple[dict[str, Any], str, str]] = [
        ({**rule, "kind": "partner-down"}, "kind", "'message-failed'"),
        ({**rule, "minutes": -1}, "minutes", "greater than or equal to 0"),
        ({**rule, "minutes": "soon"}, "minutes", "valid number"),
        ({**rule, "repeat_minutes": 0}, "repeat_minutes", "greater than or equal to 0.01"),
        ({**rule, "channel_ids": []}, "channel_ids", "at least 1 item"),
        ({**rule, "channel_ids": ["nope"]}, "channel_ids.0", "valid UUID"),
        ({**rule, "channel_ids": [str(uuid.uuid4())]}, "channel_ids", "no notification channel"),
    ]  # fmt: skip
    for body, field, says in rule_mistakes:
        fields = one_sentence_per_field(await api_on_db.post(RULES, json=body))
        assert says in fields.get(field, ""), (body, fields)
    made = await created(api_on_db, RULES, rule)
    assert made["minutes"] == 15  # the kind's default
    nulls = await api_on_db.patch(f"{RULES}/{made['id']}", json={"minutes": None, "kind": None})
    assert one_sentence_per_field(nulls) == {"minutes": "cannot be null", "kind": "cannot be null"}
    taken = await api_on_db.post(CHANNELS, json={"name": "ops hook", "target": WEBHOOK})
    assert taken.status_code == 409
    assert taken.json()["detail"][0]["loc"] == ["body", "name"]
    # Nothing refused was stored or announced: the channel and the rule made, two events.
    assert [c["name"] for c in (await api_on_db.get(CHANNELS)).json()] == ["ops hook"]
    events = payloads(await wait_for_events(js, 2))
    assert [e["event_type"] for e in events] == [
        "NotificationChannelCreated", "NotificationRuleCreated",
    ]  # fmt: skip
    assert not any(secret in config_on_db.log() for secret in SECRETS)


async def setup_reply(nats_url: str) -> NotificationSetupReply:
    """What notify-svc gets: every channel with its secrets sealed, and every rule."""
    client = await nats.connect(nats_url)
    try:
        request = NotificationSetupRequest().model_dump_json().encode()
        answer = await client.request(SETUP_SUBJECT, request, timeout=10)
    finally:
        await client.close()
    return NotificationSetupReply.model_validate_json(answer.data)


async def opened_secrets(nats_url: str, master_key: str) -> dict[str, dict[str, Any]]:
    box = SecretBox(master_key)
    opened: dict[str, dict[str, Any]] = {}
    for sealed in (await setup_reply(nats_url)).channels:
        state = sealed.channel
        assert sealed.sealed is not None
        for secret in SECRETS:
            assert secret not in sealed.sealed
        plain = box.open(sealed.sealed, channel_secrets_context(state.id))
        opened[state.name] = json.loads(plain)
    return opened


async def test_secrets_are_write_only_kept_when_left_out_and_in_no_event_or_log(
    api_on_db: httpx.AsyncClient,
    config_on_db: ServiceProcess,
    js: JetStreamContext,
    nats_url: str,
    master_key: str,
) -> None:
    hook = await created(api_on_db, CHANNELS, {"name": "ops hook", "target": WEBHOOK})
    mail = await created(api_on_db, CHANNELS, {"name": "ops mail", "target": EMAIL})
    assert hook["target"] == {"type": "webhook", "url": WEBHOOK["url"], "secret_set": True}
    assert mail["target"]["password_set"] is True
    assert "password" not in mail["target"]

    # Updates that leave the secret out: another URL, another recipient, another name.
    moved = await api_on_db.patch(f"{CHANNELS}/{hook['id']}", json={"target": {
        "type": "webhook", "url": "https://hooks.example.com/v2"}})  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert moved.json()["target"]["secret_set"] is True
    to_more = {k: v for k, v in EMAIL.items() if k != "password"}
    to_more["recipients"] = ["ops@example.com", "oncall@example.com"]
    widened = await api_on_db.patch(f"{CHANNELS}/{mail['id']}",
                              json={"name": "ops mail", "target": to_more})  # fmt: skip
    assert widened.status_code == 200, widened.text
    assert widened.json()["target"]["password_set"] is True
    renamed = await api_on_db.patch(f"{CHANNELS}/{hook['id']}", json={"name": "ops webhook"})
    assert renamed.json()["revision"] == 3
    assert await opened_secrets(nats_url, master_key) == {
        "ops webhook": {"secret": HOOK_SECRET}, "ops mail": {"password": SMTP_PASSWORD},
    }  # fmt: skip

    rotated = await api_on_db.patch(f"{CHANNELS}/{hook['id']}", json={"target": {
        **WEBHOOK, "secret": SECRETS[2]}})  # fmt: skip
    assert rotated.status_code == 200
    assert (await opened_secrets(nats_url, master_key))["ops webhook"] == {"secret": SECRETS[2]}

    responses = [hook, mail, moved.json(), widened.json(), renamed.json(), rotated.json(),
                 (await api_on_db.get(CHANNELS)).json(),
                 (await api_on_db.get(f"{CHANNELS}/{hook['id']}")).json()]  # fmt: skip
    events = payloads(await wait_for_events(js, 6))
    changes = [e["audit"]["changes"] for e in events]
    assert changes[0]["secret secret"] == {"to": "set"}
    assert "secret secret" not in changes[2]  # kept: not a change
    assert changes[5]["secret secret"] == {"to": "replaced"}
    for text in (json.dumps(responses), json.dumps(events), config_on_db.log()):
        for secret in SECRETS:
            assert secret not in text
