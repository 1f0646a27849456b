"""``as2bus notification ...`` against a fake config-svc and notify-svc (MockTransport): the
bodies it sends, secrets asked for with hidden input and never printed, names resolved to
ids, and the channel test going to notify-svc."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from as2bus.cli.client import CliState
from as2bus.cli.main import app

SECRET = "whsec-0123456789abcdef"


class Fake:
    """config-svc's notification endpoints (secrets dropped, *_set flags kept) and notify-svc's
    channel test; every request recorded."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {
            "notification-channels": {}, "notification-rules": {},
        }  # fmt: skip
        self.requests: list[httpx.Request] = []
        self.test_status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        parts = request.url.path.removeprefix("/api/v1/").split("/")
        if request.url.host == "notify.test":
            if self.test_status != 200:
                detail = "the test notice did not go out: the webhook answered HTTP 500"
                return httpx.Response(self.test_status, json={"detail": detail})
            return httpx.Response(200, json={"sent": True, "channel": parts[1]})
        table = self.rows[parts[0]]
        body = json.loads(request.content) if request.content else {}
        if request.method == "POST":
            entry = {"id": str(uuid.uuid4()), "revision": 1, "enabled": True, **body}
            if parts[0] == "notification-rules":  # the API's defaults
                entry = {"minutes": 0.0, "repeat_minutes": 60.0, **entry}
            return httpx.Response(201, json=self._public(table, entry))
        if request.method == "GET" and len(parts) == 1:
            return httpx.Response(200, json=list(table.values()))
        found = table.get(parts[1])
        if found is None:
            return httpx.Response(404, json={"detail": "not found"})
        if request.method == "PATCH":
            return httpx.Response(200, json=self._public(table, {**found, **body}))
        if request.method == "DELETE":
            del table[parts[1]]
            return httpx.Response(204)
        return httpx.Response(200, json=found)

    @staticmethod
    def _public(table: dict[str, dict[str, Any]], entry: dict[str, Any]) -> dict[str, Any]:
        target = entry.get("target")
        if target is not None:
            old = table.get(entry["id"], {}).get("target", {})
            target = dict(target)
            if target["type"] == "webhook":
                target["secret_set"] = bool(target.pop("secret", None)) or old.get("secret_set")
            else:
                given = bool(target.pop("password", None))
                target["password_set"] = given or bool(old.get("password_set"))
                target.setdefault("port", 587)
            entry = {**entry, "target": target}
        table[entry["id"]] = entry
        return entry

    def bodies(self, method: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.method == method and r.content]


@pytest.fixture
def fake() -> Fake:
    return Fake()


def run(fake: Fake, *args: str, input: str | None = None) -> Any:
    state = CliState(config_url="http://config.test", transport=httpx.MockTransport(fake))
    root = ["--token", "t", "notification", "--notify-url", "http://notify.test"]
    return CliRunner().invoke(app, [*root, *args], input=input, obj=state)


def test_a_webhook_channel_asks_for_its_secret_and_never_prints_it(fake: Fake) -> None:
    result = run(fake, "channel", "create", "ops", "--webhook", "https://hooks.test/x",
                 input=f"{SECRET}\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake.bodies("POST") == [{
        "name": "ops",
        "target": {"type": "webhook", "url": "https://hooks.test/x", "secret": SECRET},
    }]  # fmt: skip
    assert SECRET not in result.output
    listed = run(fake, "channel", "list")
    assert "ops" in listed.output
    assert "https://hooks.test/x" in listed.output


def test_an_email_channel_sends_the_smtp_settings_and_the_ca(fake: Fake, tmp_path: Any) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    result = run(fake, "channel", "create", "mail", "--smtp-host", "smtp.test", "--username",
                 "bot", "--from", "as2@us.test", "--to", "ops@us.test", "--to", "b@us.test",
                 "--ca-file", str(ca), input="pw-123\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    (body,) = fake.bodies("POST")
    assert body["target"] == {
        "type": "email", "host": "smtp.test", "username": "bot", "sender": "as2@us.test",
        "recipients": ["ops@us.test", "b@us.test"], "password": "pw-123",
        "ca_bundle_pem": ca.read_text(),
    }  # fmt: skip
    assert "pw-123" not in result.output


def test_an_update_keeps_the_stored_secret_and_changes_only_what_is_given(fake: Fake) -> None:
    run(fake, "channel", "create", "ops", "--webhook", "https://a.test/", "--secret", SECRET)
    result = run(fake, "channel", "update", "ops", "--webhook", "https://b.test/")
    assert result.exit_code == 0, result.output
    (patch,) = fake.bodies("PATCH")
    assert patch == {"target": {"type": "webhook", "url": "https://b.test/"}}
    assert run(fake, "channel", "update", "ops", "--disable").exit_code == 0
    assert fake.bodies("PATCH")[-1] == {"enabled": False}


def test_a_rule_names_its_channels_and_kind(fake: Fake) -> None:
    created = run(fake, "channel", "create", "ops", "--webhook", "https://a.test/",
                  "--secret", SECRET)  # fmt: skip
    assert created.exit_code == 0, created.output
    (channel_id,) = fake.rows["notification-channels"]
    result = run(fake, "rule", "create", "down", "--kind", "partner-unreachable",
                 "--channel", "ops", "--minutes", "5")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert fake.bodies("POST")[-1] == {
        "name": "down", "enabled": True, "kind": "partner-unreachable", "minutes": 5.0,
        "channel_ids": [channel_id],
    }  # fmt: skip
    assert run(fake, "rule", "disable", "down").exit_code == 0
    assert fake.bodies("PATCH")[-1] == {"enabled": False}
    assert "down" in run(fake, "rule", "list").output


def test_bad_input_is_one_sentence(fake: Fake) -> None:
    result = run(fake, "rule", "create", "x", "--kind", "partner-down", "--channel", "ops")
    assert result.exit_code == 1
    assert "error: --kind must be one of partner-unreachable" in result.output
    missing = run(fake, "rule", "create", "x", "--kind", "message-failed", "--channel", "ops")
    assert "error: no notification channel named 'ops'" in missing.output
    both = run(fake, "channel", "create", "x", "--webhook", "https://a/", "--smtp-host", "h")
    assert both.exit_code == 1
    assert "not both" in both.output
    assert "Traceback" not in result.output + both.output


def test_channel_test_goes_to_notify_svc_and_reports_a_failure(fake: Fake) -> None:
    run(fake, "channel", "create", "ops", "--webhook", "https://a.test/", "--secret", SECRET)
    ok = run(fake, "channel", "test", "ops")
    assert ok.exit_code == 0, ok.output
    assert "test notice sent through channel ops" in ok.output
    assert fake.requests[-1].url.host == "notify.test"
    fake.test_status = 502
    failed = run(fake, "channel", "test", "ops")
    assert failed.exit_code == 1
    assert "the webhook answered HTTP 500" in failed.output
