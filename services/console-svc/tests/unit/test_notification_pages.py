"""The Notifications page in process: a fake config-svc keeping channels and rules in memory
and recording every change asked of it (secrets answered only as "set", as config-svc does),
and a fake notify-svc with incidents, deliveries and a channel test that works or not."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from as2bus.console.adapters.backends import BackendError, Change
from as2bus.console.domain.notification_form import channel_values
from as2bus.console.domain.roles import Role
from as2bus.console.wiring import wiring

from .conftest import client, csrf_of, sign_in

ADMIN, VIEWER, OPERATOR = "admin@example.com", "viewer@example.com", "operator@example.com"
HOOK_SECRET = "whsec-never-shown-0123"
SMTP_PASSWORD = "smtp-never-shown-456"
CHANNELS, RULES = "/api/v1/notification-channels", "/api/v1/notification-rules"


class FakeConfig:
    name = "config-svc"

    def __init__(self) -> None:
        self.stores: dict[str, dict[str, dict[str, Any]]] = {CHANNELS: {}, RULES: {}}
        self.changes: list[tuple[str, str, str, Any]] = []  # method, path, actor, json
        self.refuse_next: Change | None = None

    def _store(self, path: str) -> tuple[dict[str, dict[str, Any]], str]:
        base = CHANNELS if path.startswith(CHANNELS) else RULES
        return self.stores[base], path.removeprefix(base).strip("/")

    async def get(self, path: str, params: Any = None) -> Any:
        store, ref = self._store(path)
        return store.get(ref) if ref else list(store.values())

    async def change(
        self, method: str, path: str, *, actor: str, json: Any = None, **_: Any
    ) -> Change:
        self.changes.append((method, path, actor, json))
        if self.refuse_next is not None:
            answer, self.refuse_next = self.refuse_next, None
            return answer
        store, ref = self._store(path)
        if method == "DELETE":
            del store[ref]
            return Change(204, None)
        fields = dict(json)
        if "target" in fields:
            fields["target"] = self.public(fields["target"], store.get(ref, {}).get("target"))
        if method == "PATCH":
            store[ref].update(fields)
            return Change(200, store[ref])
        made = {"id": str(uuid.uuid4()), "enabled": True, **fields}
        store[made["id"]] = made
        return Change(201, made)

    @staticmethod
    def public(target: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        """As config-svc answers: the secret as "set"; left out, the stored one is kept."""
        shown = {k: v for k, v in target.items() if k not in ("secret", "password")}
        kept = old or {}
        if target["type"] == "webhook":
            shown["secret_set"] = bool(target.get("secret") or kept.get("secret_set"))
        else:
            shown["password_set"] = bool(target.get("password") or kept.get("password_set"))
        return shown

    def channel(self, name: str, target: dict[str, Any]) -> dict[str, Any]:
        made: dict[str, Any] = {"id": str(uuid.uuid4()), "name": name, "enabled": True,
                                "target": target}  # fmt: skip
        self.stores[CHANNELS][made["id"]] = made
        return made

    def rule(self, name: str, kind: str, channel_ids: list[str]) -> dict[str, Any]:
        made: dict[str, Any] = {"id": str(uuid.uuid4()), "name": name, "kind": kind, "minutes": 0.5,
                "repeat_minutes": 60, "channel_ids": channel_ids, "enabled": True}  # fmt: skip
        self.stores[RULES][made["id"]] = made
        return made


class FakeNotify:
    name = "notify-svc"

    def __init__(self) -> None:
        self.incidents: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.tested: list[tuple[str, str]] = []  # path, actor
        self.test_answer = Change(200, {"sent": True})
        self.away = False

    async def get(self, path: str, params: Any = None) -> Any:
        if self.away:
            raise BackendError("notify-svc cannot be reached just now (connection refused)")
        return self.incidents if path == "/api/v1/incidents" else self.deliveries

    async def change(self, method: str, path: str, *, actor: str, **_: Any) -> Change:
        if self.away:
            raise BackendError("notify-svc cannot be reached just now (connection refused)")
        self.tested.append((path, actor))
        return self.test_answer


class NotifyBackends:
    def __init__(self) -> None:
        self.config = FakeConfig()
        self.notify = FakeNotify()


@pytest.fixture
async def backends(app: Any) -> NotifyBackends:
    found = NotifyBackends()
    fakes = wiring.replace(app, backends=found)
    await fakes.accounts.create_user(OPERATOR, Role.OPERATOR, "correct horse battery")
    return found


def webhook(b: NotifyBackends) -> dict[str, Any]:
    return b.config.channel("ops hook", {"type": "webhook", "url": "https://hooks.example/a",
                                         "secret_set": True})  # fmt: skip


def mail(b: NotifyBackends) -> dict[str, Any]:
    return b.config.channel("ops mail", {
        "type": "email", "host": "smtp.example.com", "port": 587, "security": "starttls",
        "username": "as2bus", "password_set": True, "sender": "as2bus@example.com",
        "recipients": ["ops@example.com", "oncall@example.com"], "ca_bundle_pem": None,
    })  # fmt: skip


def error_of(html: str, field: str) -> str:
    found = re.search(rf'id="f-{field}-error">([^<]*)<', html)
    assert found is not None, f"no error shown next to {field}"
    return found.group(1)


async def test_everybody_reads_channels_rules_incidents_and_deliveries_and_admins_change(
    app: Any, backends: NotifyBackends
) -> None:
    hook, letter = webhook(backends), mail(backends)
    rule = backends.config.rule("partner down", "partner-unreachable", [hook["id"], letter["id"]])
    backends.config.rule("stale", "message-failed", [hook["id"], "c-deleted-1234"])
    backends.notify.incidents = [{
        "rule_id": rule["id"], "kind": "partner-unreachable", "subject": "ACME",
        "state": "firing", "first_seen": "2026-12-04T09:00:00+00:00", "count": 3,
        "last_seen": "2026-12-04T09:05:00+00:00", "detail": "attempt 3: connection refused",
    }, {
        "rule_id": "r-deleted-5678", "kind": "message-failed", "subject": "BETA",
        "state": "firing", "first_seen": "2026-12-04T09:00:00+00:00", "count": 1,
        "last_seen": "2026-12-04T09:05:00+00:00", "detail": "failed",
    }]  # fmt: skip
    payload = {"title": "FIRING: partner ACME unreachable", "at": "2026-12-04T09:05:00+00:00"}
    backends.notify.deliveries = [
        {"channel_id": hook["id"], "payload": payload, "state": "sent", "attempts": 1},
        {"channel_id": letter["id"], "payload": payload, "state": "pending", "attempts": 2,
         "last_error": "the SMTP server refused the login"},
        {"channel_id": "gone", "payload": payload, "state": "failed", "attempts": 12},
    ]  # fmt: skip
    async with client(app) as http:
        await sign_in(http, VIEWER)
        page = (await http.get("/notifications")).text
        assert 'href="/notifications" aria-current="page">Notifications</a>' in page
        for shown in ("ops hook", "https://hooks.example/a", "ops@example.com, oncall@example.com"
                      " via smtp.example.com:587", "Partner unreachable", "30 s", "60 min",
                      "ops hook, ops mail", "attempt 3: connection refused",
                      "status-failed\">firing", "retrying (2 failed)", "failed after 12 attempts",
                      "a deleted channel", "the SMTP server refused the login",
                      "ops hook, a deleted channel", "a deleted rule"):  # fmt: skip
            assert shown in page, shown
        assert "c-deleted-1234" not in page  # a deleted channel or rule is never shown by id
        assert "r-deleted-5678" not in page
        assert "Send a test" not in page
        assert "Disable" not in page
        assert "New rule" not in page
        channel_page = (await http.get(f"/notifications/channels/{letter['id']}")).text
        assert '<fieldset class="plain" disabled>' in channel_page
        assert "Stored: set. Leave empty to keep it." in channel_page
        assert (await http.get("/notifications/channels/new")).status_code == 403
        assert (await http.get("/notifications/rules/new")).status_code == 403
        refused = await http.post(f"/notifications/channels/{hook['id']}/enabled",
                                  data={"csrf": csrf_of(page), "enabled": "off"})  # fmt: skip
        assert refused.status_code == 403
    async with client(app) as http:
        await sign_in(http, OPERATOR)
        page = (await http.get("/notifications")).text
        assert "Send a test" in page
        assert "Disable" not in page
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = (await http.get("/notifications")).text
        assert 'id="new-webhook"' in page
        assert 'aria-label="Disable partner down"' in page
    assert backends.config.changes == []


async def test_a_webhook_channel_is_created_with_its_secret_which_is_never_shown_again(
    app: Any, backends: NotifyBackends
) -> None:
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/notifications/channels/new?type=webhook")
        fields = {"csrf": csrf_of(form.text), "type": "webhook", "name": "ops hook",
                  "enabled": "on", "url": "https://hooks.example/a", "secret": ""}  # fmt: skip
        no_secret = await http.post("/notifications/channels", data=fields)
        assert no_secret.status_code == 422
        assert "needs a secret" in error_of(no_secret.text, "secret")
        assert 'value="https://hooks.example/a"' in no_secret.text
        assert backends.config.changes == []

        made = await http.post("/notifications/channels", data={**fields, "secret": HOOK_SECRET})
        assert made.status_code == 303, made.text
        assert made.headers["location"] == "/notifications?done=Channel+ops+hook+created."
        ((method, path, actor, body),) = backends.config.changes
        assert (method, path, actor) == ("POST", CHANNELS, ADMIN)
        target = {"type": "webhook", "url": "https://hooks.example/a", "secret": HOOK_SECRET}
        assert body == {"name": "ops hook", "enabled": True, "target": target}
        (channel,) = backends.config.stores[CHANNELS].values()
        for path in ("/notifications", f"/notifications/channels/{channel['id']}"):
            page = (await http.get(path)).text
            assert HOOK_SECRET not in page
            assert "ops hook" in page


async def test_an_email_channel_keeps_its_password_unless_a_new_user_name_needs_one(
    app: Any, backends: NotifyBackends
) -> None:
    letter = mail(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = await http.get(f"/notifications/channels/{letter['id']}")
        assert "ops@example.com\noncall@example.com</textarea>" in page.text
        shown = {**channel_values(letter), "csrf": csrf_of(page.text), "password": ""}
        untouched = await http.post(f"/notifications/channels/{letter['id']}", data=shown)
        assert "Nothing+to+save" in untouched.headers["location"]
        assert backends.config.changes == []

        more = {**shown, "recipients": "ops@example.com, boss@example.com"}
        saved = await http.post(f"/notifications/channels/{letter['id']}", data=more)
        assert saved.status_code == 303, saved.text
        ((_, _, _, body),) = backends.config.changes
        # No password: config-svc keeps the stored one.
        assert body == {"target": {
            "type": "email", "host": "smtp.example.com", "port": 587, "security": "starttls",
            "username": "as2bus", "sender": "as2bus@example.com",
            "recipients": ["ops@example.com", "boss@example.com"], "ca_bundle_pem": None,
        }}  # fmt: skip

        other_user = {**shown, "username": "someone-else"}
        refused = await http.post(f"/notifications/channels/{letter['id']}", data=other_user)
        assert refused.status_code == 422
        assert "password of the new user name" in error_of(refused.text, "password")
        with_password = {**other_user, "password": SMTP_PASSWORD}
        saved = await http.post(f"/notifications/channels/{letter['id']}", data=with_password)
        assert saved.status_code == 303
        assert backends.config.changes[-1][3]["target"]["password"] == SMTP_PASSWORD
        assert SMTP_PASSWORD not in (await http.get("/notifications")).text


async def test_the_apis_refusals_show_next_to_their_fields_without_the_secret(
    app: Any, backends: NotifyBackends
) -> None:
    backends.config.refuse_next = Change(422, None, {
        "target.email.recipients.1": "String should match pattern '^[^@\\s]+@[^@\\s]+$'",
        "target.email.port": "Input should be less than or equal to 65535",
        "target.email": "Value error, SMTP credentials are sent only over TLS: use security "
                        "starttls or tls, or give no username and password (a local relay)",
    })  # fmt: skip
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/notifications/channels/new?type=email")
        assert 'value="starttls" selected' in form.text
        answer = await http.post("/notifications/channels", data={
            "csrf": csrf_of(form.text), "type": "email", "name": "relay", "enabled": "on",
            "host": "relay.local", "port": "70000", "security": "none", "username": "me",
            "password": SMTP_PASSWORD, "sender": "as2bus@example.com",
            "recipients": "ops@example.com\nnot-an-address",
        })  # fmt: skip
    assert answer.status_code == 422
    # pydantic's own words never reach the form: said plainly, naming the field.
    assert error_of(answer.text, "recipients") == "must be an e-mail address, e.g. as2@example.com"
    assert error_of(answer.text, "port") == "Port must be 65535 or less"
    assert "Input should" not in answer.text
    assert error_of(answer.text, "security").startswith("SMTP credentials are sent only over TLS")
    assert "not-an-address</textarea>" in answer.text
    assert SMTP_PASSWORD not in answer.text


async def test_rules_are_created_edited_switched_and_deleted(
    app: Any, backends: NotifyBackends
) -> None:
    hook, letter = webhook(backends), mail(backends)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/notifications/rules/new")
        assert f'value="{hook["id"]}"' in form.text
        fields = {"csrf": csrf_of(form.text), "name": "failures", "kind": "message-failed",
                  "minutes": "", "repeat_minutes": "30", "enabled": "on"}  # fmt: skip
        none_chosen = await http.post("/notifications/rules", data=fields)
        assert none_chosen.status_code == 422
        assert error_of(none_chosen.text, "channel_ids") == "choose at least one channel"
        both = {**fields, "channel_ids": [hook["id"], letter["id"]]}
        made = await http.post("/notifications/rules", data=both)
        assert made.status_code == 303, made.text
        ((_, path, _, body),) = backends.config.changes
        # Minutes left out: config-svc's default for the kind.
        assert (path, body) == (RULES, {
            "name": "failures", "kind": "message-failed", "enabled": True,
            "repeat_minutes": 30, "channel_ids": [hook["id"], letter["id"]],
        })  # fmt: skip
        (rule,) = backends.config.stores[RULES].values()
        rule["minutes"] = 0.0

        page = await http.get(f"/notifications/rules/{rule['id']}")
        assert re.search(rf'value="{letter["id"]}" checked', page.text)
        edited = {**fields, "minutes": "2.5", "repeat_minutes": "30",
                  "channel_ids": [letter["id"]]}  # fmt: skip
        saved = await http.post(f"/notifications/rules/{rule['id']}", data=edited)
        assert saved.status_code == 303
        assert backends.config.changes[-1][3] == {"minutes": 2.5, "channel_ids": [letter["id"]]}

        switched = await http.post(f"/notifications/rules/{rule['id']}/enabled",
                                   data={"csrf": fields["csrf"], "enabled": "off"})  # fmt: skip
        assert switched.headers["location"] == "/notifications?done=Rule+failures+is+off."
        assert backends.config.changes[-1][3] == {"enabled": False}

        used = "the channel is used by rule(s) failures: change or delete them first"
        backends.config.refuse_next = Change(409, None, {"id": used})
        refused = await http.post(f"/notifications/channels/{letter['id']}/delete",
                                  data={"csrf": fields["csrf"]})  # fmt: skip
        assert refused.status_code == 409
        assert f"Channel ops mail cannot be deleted:</strong> {used}" in refused.text
        gone = await http.post(f"/notifications/rules/{rule['id']}/delete",
                               data={"csrf": fields["csrf"]})  # fmt: skip
        assert gone.headers["location"] == "/notifications?done=Rule+failures+deleted."
        assert backends.config.stores[RULES] == {}


async def test_send_a_test_says_it_went_or_why_not(app: Any, backends: NotifyBackends) -> None:
    hook = webhook(backends)
    async with client(app) as http:
        await sign_in(http, OPERATOR)
        csrf = csrf_of((await http.get("/notifications")).text)
        sent = await http.post(f"/notifications/channels/{hook['id']}/test", data={"csrf": csrf})
        assert sent.headers["location"] == (
            "/notifications?done=A+test+notice+went+out+through+channel+ops+hook."
        )
        assert backends.notify.tested == [(f"/api/v1/channels/{hook['id']}/test", OPERATOR)]

        reason = "the test notice did not go out: the receiver answered HTTP 500"
        backends.notify.test_answer = Change(502, {"detail": reason}, {"": reason})
        failed = await http.post(f"/notifications/channels/{hook['id']}/test", data={"csrf": csrf})
        assert failed.status_code == 502
        assert f"Channel ops hook: {reason}" in failed.text

        backends.notify.away = True
        away = await http.post(f"/notifications/channels/{hook['id']}/test", data={"csrf": csrf})
        assert away.status_code == 503
        assert "No test notice was sent: notify-svc cannot be reached" in away.text
        listed = await http.get("/notifications")  # config-svc's part still shows
        assert listed.status_code == 200
        assert "ops hook" in listed.text
        assert 'id="notify-away"' in listed.text
        forged = await http.post(f"/notifications/channels/{hook['id']}/test", data={"csrf": "x"})
        assert forged.status_code == 403
    async with client(app) as http:
        await sign_in(http, VIEWER)
        csrf = csrf_of((await http.get("/notifications")).text)
        viewer = await http.post(f"/notifications/channels/{hook['id']}/test", data={"csrf": csrf})
        assert viewer.status_code == 403


async def test_no_incident_with_no_rule_says_that_nothing_is_watched(
    app: Any, backends: NotifyBackends
) -> None:
    """ "Nothing needs a person" would reassure while a partner is down and nobody watches."""
    async with client(app) as http:
        await sign_in(http, OPERATOR)
        unwatched = (await http.get("/notifications")).text
        backends.config.rule("failed", "message-failed", [webhook(backends)["id"]])
        watched = (await http.get("/notifications")).text
    assert "None, but nothing is watched" in unwatched
    assert "Ask an admin to add rules" in unwatched
    assert "None: nothing needs a person just now." not in unwatched
    assert "None: nothing needs a person just now." in watched
