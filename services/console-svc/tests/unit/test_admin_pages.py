"""Users and the audit trail in process (fake backends, SQLite on a temporary file): admins
only, every form with its CSRF token, the last admin kept, sessions ended, each change in
the audit trail with its author and never a password."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from as2bus.console.domain.audit import UNRECORDED, AuditEntry, audit_entry
from as2bus.console.domain.audit_reading import describe_change
from as2bus.console.wiring import wiring

from .conftest import client, csrf_of, sign_in


def shown_address(name: str) -> str:
    """An address as the pages show it: breaking after its "@" only."""
    return f'<span class="nowrap">{name}@</span><wbr><span class="nowrap">example.com</span>'


ADMIN_SHOWN = shown_address("admin")


def event(kind: str, data: dict[str, Any], audit: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "event_type": kind, "data": data, "audit": audit,
            "occurred_at": datetime(2026, 12, 4, 9, tzinfo=UTC).isoformat()}  # fmt: skip


def said(entry: AuditEntry) -> list[str]:
    """An entry's changes as the page lists them, its times in UTC (before the browser writes
    them in its own zone)."""
    return [str(line) for line in entry.lines()]


def test_which_events_are_changes_and_how_they_read() -> None:
    changes = {"name": {"from": "Acme", "to": "Acme EU"}, "secret password": {"to": "replaced"}}
    audit = {"actor": "alice@example.com via API token 1a2b3c4d", "changes": changes}
    updated = audit_entry(event("PartnerUpdated", {"as2_id": "ACME"}, audit))
    assert updated is not None
    assert (updated.entity, updated.action, updated.label) == ("partner", "updated", "ACME")
    assert updated.actor == "alice@example.com via API token 1a2b3c4d"
    assert said(updated) == ["Name: Acme → Acme EU", "Password: replaced"]
    pair = {"station_as2_id": "MYCO", "partner_as2_id": "ACME"}
    link = audit_entry(event("PartnershipDeleted", pair))
    assert link is not None
    assert (link.entity, link.action, link.label, link.actor) == (
        "partnership", "deleted", "MYCO → ACME", UNRECORDED,
    )  # fmt: skip
    rotated = {"alias": "acme", "kind": "partner", "change": "new-certificate",
               "certificate": {"subject": "CN=acme", "fingerprint_sha256": "AB:CD"}}  # fmt: skip
    cert = audit_entry(event("CertRotated", rotated, {"actor": "x"}))
    assert cert is not None
    assert (cert.entity, cert.action, cert.label) == (
        "certificate", "rotated", "acme (partner)",
    )  # fmt: skip
    # cert-svc's events carry facts, not a list of changes: the page shows those.
    assert said(cert) == [
        "Subject: CN=acme", "Fingerprint (SHA-256): AB:CD",
        "The previous certificate retires after the overlap",
    ]  # fmt: skip
    algs = {"from": ["sha1"], "to": ["sha256", "sha384"]}
    assert describe_change("accepted_signing_algs", algs) == (
        "Accepted signing algorithms: sha1 → sha256, sha384"
    )
    two = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" * 2
    assert describe_change("tls.ca_bundle_pem", {"from": None, "to": two}) == (
        "Trusted CA certificates: 2 PEM certificates"  # not the PEM text
    )
    assert audit_entry(event("CertExpiring", {"alias": "acme"})) is None  # nobody's change
    assert audit_entry(event("MessageSent", {})) is None


async def test_users_are_managed_by_admins_and_every_change_is_audited(app: Any) -> None:
    async with client(app) as viewer:
        await sign_in(viewer, "viewer@example.com")
        assert (await viewer.get("/users")).status_code == 403
        assert (await viewer.get("/audit")).status_code == 403
        csrf = csrf_of((await viewer.get("/tracklog")).text)
        for path in ("/users", "/users/admin@example.com", "/users/admin@example.com/password"):
            refused = await viewer.post(path, data={"csrf": csrf, "email": "x@example.com",
                                                    "role": "admin"})  # fmt: skip
            assert refused.status_code == 403, path
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        csrf = csrf_of((await admin.get("/users")).text)
        forged = await admin.post("/users", data={"csrf": "x", "email": "a@example.com",
                                                  "role": "viewer"})  # fmt: skip
        assert forged.status_code == 403
        new_user = {"csrf": csrf, "email": "new@example.com", "role": "operator"}
        made = await admin.post("/users", data=new_user, follow_redirects=True)
        assert made.status_code == 200
        assert "shown this once" in made.text
        password = made.text.split('<code class="password">')[1].split("<")[0]
        assert len(password) >= 12
        moved = await admin.post("/users/new@example.com", data={"csrf": csrf, "role": "viewer"})
        assert moved.status_code == 303
        assert "new%40example.com+is+now+viewer." in moved.headers["location"]
        off = await admin.post("/users/new@example.com", data={"csrf": csrf, "status": "disabled"})
        assert off.status_code == 303
        assert "new%40example.com+is+disabled." in off.headers["location"]
        last = await admin.post("/users/admin@example.com", data={"csrf": csrf, "role": "viewer"})
        assert last.status_code == 422
        assert "last enabled admin" in last.text
        reset = await admin.post(
            "/users/viewer@example.com/password", data={"csrf": csrf}, follow_redirects=True
        )
        assert "shown this once" in reset.text

        audit = (await admin.get("/audit", params={"entity": "user"})).text
        # The actor's cell, an address that may break after its "@": created, role, disabled,
        # password.
        assert audit.count('<td class="actor">' + ADMIN_SHOWN + "</td>") == 4
        assert "Role: operator → viewer" in audit
        assert "Status: enabled → disabled" in audit
        assert "Password: replaced" in audit
        assert password not in audit
        only_new = (await admin.get("/audit", params={"q": "new@"})).text
        assert shown_address("viewer") not in only_new  # as an address is shown
        assert shown_address("new") in only_new


async def test_a_disabled_user_is_signed_out_at_once(app: Any) -> None:
    async with client(app) as viewer, client(app) as admin:
        await sign_in(viewer, "viewer@example.com")
        assert (await viewer.get("/tracklog")).status_code == 200
        await sign_in(admin, "admin@example.com")
        csrf = csrf_of((await admin.get("/users")).text)
        await admin.post("/users/viewer@example.com", data={"csrf": csrf, "status": "disabled"})
        assert (await viewer.get("/tracklog")).status_code == 303  # back to the sign-in form


async def test_the_audit_trail_keeps_each_event_once_and_pages_newest_first(app: Any) -> None:
    trail = wiring.of(app).audit_trail
    entries = []
    for minute in range(60):
        found = audit_entry(event("StationUpdated", {"as2_id": f"S{minute:02d}"}, {"actor": "t"}))
        assert found is not None
        entries.append(found.__class__(**{**found.__dict__, "occurred_at": datetime(
            2026, 12, 4, 9, minute, tzinfo=UTC)}))  # fmt: skip
    for entry in entries:
        assert await trail.record(entry) is True
    assert await trail.record(entries[0]) is False  # a redelivered event
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        first = (await admin.get("/audit?entity=station")).text  # not the admin's sign-in
        assert first.index("S59") < first.index("S10")
        assert "S09" not in first  # the 51st newest and older are on the next page
        older = first.split('href="/audit?entity=station&amp;before=')[1].split('"')[0]
        second = (await admin.get(f"/audit?entity=station&before={older}")).text
        assert "S09" in second
        assert "S00" in second
        assert "S59" not in second


async def test_disabling_a_user_or_resetting_a_password_asks_first(app: Any) -> None:
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        listed = (await admin.get("/users")).text
        # one click on the list only opens the question: nothing changed yet
        assert 'href="/users/viewer%40example.com/disable"' in listed
        assert 'href="/users/viewer%40example.com/password"' in listed
        question = await admin.get("/users/viewer%40example.com/disable")
        assert "Disable viewer@example.com?" in question.text
        assert 'action="/users/viewer%40example.com"' in question.text
        assert 'name="status" value="disabled"' in question.text
        reset = await admin.get("/users/viewer@example.com/password")
        assert "Reset the password of viewer@example.com?" in reset.text
        assert 'action="/users/viewer%40example.com/password"' in reset.text
        users = await wiring.of(app).user_admin.users()
        viewer = next(u for u in users if u.email == "viewer@example.com")
        assert not viewer.disabled
        unknown = await admin.get("/users/nobody@example.com/disable")
        assert "there is no user nobody@example.com" in unknown.text
        # answering the question does it
        confirmed = {"csrf": csrf_of(question.text), "status": "disabled"}
        answer = await admin.post("/users/viewer%40example.com", data=confirmed)
        assert answer.status_code == 303
        users = await wiring.of(app).user_admin.users()
        assert next(u for u in users if u.email == "viewer@example.com").disabled


async def test_a_refused_new_user_keeps_what_was_typed_next_to_the_reason(app: Any) -> None:
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        csrf = csrf_of((await admin.get("/users")).text)
        again = {"csrf": csrf, "email": "viewer@example.com", "role": "operator"}
        refused = await admin.post("/users", data=again)
        assert refused.status_code == 422
        form = refused.text.split('id="new-user"')[1]
        assert 'class="error"' in form  # the reason, at the form
        assert 'value="viewer@example.com"' in form
        assert '<option value="operator" selected>' in form


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
OLD_FP = ":".join(["A1"] * 32)
NEW_FP = ":".join(["B2"] * 32)


def certificate(fingerprint: str, activation_at: str) -> dict[str, Any]:
    """A CertificateSummary as cert-svc's events carry it."""
    return {"id": str(uuid.uuid4()), "alias": "myco@acme", "kind": "own", "subject": "CN=MYCO",
            "issuer": "CN=MYCO", "serial": "01", "fingerprint_sha256": fingerprint,
            "not_before": "2026-12-05T12:00:00Z", "not_after": "2028-12-04T12:00:00Z",
            "activation_at": activation_at, "retirement_at": None, "cert_pem": PEM}  # fmt: skip


def rotation() -> dict[str, Any]:
    """A CertRotated event: our new certificate for MYCO → ACME, the old one retiring."""
    return event("CertRotated", {
        "alias": "myco@acme", "kind": "own", "change": "new-certificate",
        "certificate": certificate(NEW_FP, "2026-12-05T12:02:45.096574Z"),
        "previous_fingerprints": [OLD_FP], "previous_retire_at": "2026-12-12T12:02:45.096574Z",
        "notify_partners": ["ACME"]}, {"actor": "alice@example.com"})  # fmt: skip


def test_a_rotation_reads_as_what_happened_to_both_certificates() -> None:
    """The page read "activation_at: 2026-12-05T12:02:45.096574Z" and "change: new-certificate"
    and never said the previous certificate was retired."""
    rotated = audit_entry(rotation())
    assert rotated is not None
    assert (rotated.what, rotated.label, rotated.action) == (
        "certificate", "myco@acme (own)", "rotated",
    )  # fmt: skip
    assert said(rotated) == [
        "Subject: CN=MYCO",
        f"Fingerprint (SHA-256): {NEW_FP}",
        "In use from: 2026-12-05 12:02:45 UTC",
        "Valid until: 2028-12-04 12:00:00 UTC",
        f"The previous certificate {OLD_FP} is accepted until 2026-12-12 12:02:45 UTC, then "
        "retired",
    ]
    kinds = [[p.kind for p in line.parts if p.kind != "text"] for line in rotated.lines()]
    assert kinds == [[], ["fingerprint"], ["time"], ["time"], ["fingerprint", "time"]]
    moved = audit_entry(event("CertRotated", {
        "alias": "myco@acme", "kind": "own", "change": "schedule",
        "certificate": certificate(NEW_FP, "2026-12-06T08:00:00Z")}, {"actor": "x"}))  # fmt: skip
    assert moved is not None
    assert moved.action == "rescheduled"
    assert said(moved)[0] == "Switch times changed"
    assert "In use from: 2026-12-06 08:00:00 UTC" in said(moved)
    made = audit_entry({**event("CertImported", certificate(OLD_FP, "2026-12-05T12:00:00Z"),
                                {"actor": "x"}), "source": "generated"})  # fmt: skip
    assert made is not None
    assert made.action == "generated"


def test_a_deleted_partner_certificate_is_in_the_audit_trail() -> None:
    orphan = certificate(OLD_FP, "2026-12-05T12:00:00Z") | {
        "alias": "ACMERETAIL",
        "kind": "partner",
        "retirement_at": "2026-12-05T13:00:00Z",
    }
    gone = audit_entry(event("CertDeleted", orphan, {"actor": "alice@example.com"}))
    assert gone is not None
    assert (gone.what, gone.label, gone.action, gone.actor) == (
        "certificate", "ACMERETAIL (partner)", "deleted", "alice@example.com",
    )  # fmt: skip
    assert f"Fingerprint (SHA-256): {OLD_FP}" in said(gone)


def test_configuration_changes_read_with_the_forms_names_and_names_not_ids() -> None:
    """The page read "accepted_encryption_algs", "tls.pinned_sha256" and a partnership's
    partner_id and station_id."""
    link = {"id": str(uuid.uuid4()), "station_id": str(uuid.uuid4()),
            "partner_id": str(uuid.uuid4()), "station_as2_id": "MYCO", "partner_as2_id": "ACME",
            "enabled": True}  # fmt: skip
    made = {k: {"from": None, "to": v} for k, v in link.items() if k != "id"}
    paired = audit_entry(event("PartnershipCreated", link, {"actor": "x", "changes": made}))
    assert paired is not None
    assert said(paired) == ["My AS2 ID: MYCO", "Partner AS2 ID: ACME", "Status: On"]
    pin = "ab" * 32
    changes = {
        "tls.pinned_sha256": {"from": [], "to": [pin]},
        "accepted_encryption_algs": {"from": ["3des", "aes256-cbc"], "to": ["aes256-cbc"]},
        "http_auth": {"from": {"type": "none"},
                      "to": {"type": "basic", "username": "acme", "password_set": True}},
        "mdn_signature": {"from": "required", "to": "none"},
        "mdn_signed": {"from": True, "to": False},
        "async_mdn_networks": {"from": [], "to": ["10.20.0.0/16", "fd12::/16"]},
        "new_setting": {"from": None, "to": 3},
    }  # fmt: skip
    partner = audit_entry(event("PartnerUpdated", {"as2_id": "ACME"},
                                {"actor": "x", "changes": changes}))  # fmt: skip
    assert partner is not None
    assert said(partner) == [
        "MDN signature: required → none",  # "mdn_signed" only repeats it
        "Networks our async MDNs may go to: none → 10.20.0.0/16, fd12::/16",
        "Authentication: none → basic, user name: acme, password stored: yes",
        f"Pinned certificates (SHA-256): none → {pin}",
        "Accepted encryption algorithms: 3des, aes256-cbc → aes256-cbc",
        "New setting: 3",  # not yet labelled: in words all the same
    ]
    rule = audit_entry(
        event(
            "NotificationRuleCreated",
            {"name": "down"},
            {"actor": "x", "changes": {"kind": {"from": None, "to": "partner-unreachable"}}},
        )
    )
    assert rule is not None
    assert (rule.what, said(rule)) == ("notification rule", ["Watches for: Partner unreachable"])


async def test_the_audit_page_shows_times_and_fingerprints_as_the_console_does(app: Any) -> None:
    entry = audit_entry(rotation())
    assert entry is not None
    assert await wiring.of(app).audit_trail.record(entry) is True
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        page = (await admin.get("/audit")).text
    # A <time> the console's script writes in the browser's zone, as on every other page.
    assert 'In use from: <time datetime="2026-12-05T12:02:45.096574Z"' in page
    assert "A1:<wbr>A1:<wbr>" in page  # a fingerprint breaks between its pairs only
    assert ", then retired" in page
    for raw in ("activation_at", "new-certificate", "fingerprint_sha256", "previous_retire_at"):
        assert raw not in page
    assert '<option value="notify-channel" >notification channel</option>' in page


HOOK, MAIL, GONE = (str(uuid.uuid4()) for _ in range(3))


def rule_changed() -> dict[str, Any]:
    """A rule's update as config-svc records it: channels by id only, minutes as floats."""
    changes = {
        "channel_ids": {"from": [HOOK], "to": [HOOK, MAIL, GONE]},
        "minutes": {"from": 0.0, "to": 1.0},
        "repeat_minutes": {"from": 60.0, "to": 0.5},
    }
    return event("NotificationRuleUpdated", {"name": "partner down"},
                 {"actor": "x", "changes": changes})  # fmt: skip


def test_a_rules_channels_read_by_name_and_whole_minutes_as_whole_numbers() -> None:
    entry = audit_entry(rule_changed())
    assert entry is not None
    names = {HOOK: "ops hook", MAIL: "ops mail"}
    assert [str(line) for line in entry.lines(names)] == [
        "After (minutes): 0 → 1",
        "Summary at most every (minutes): 60 → 0.5",
        "Channels: ops hook → ops hook, ops mail, a channel deleted since",
    ]
    # Without config-svc's names: a short id, never "deleted" for want of asking.
    assert said(entry)[2] == f"Channels: channel {HOOK[:8]} → channel {HOOK[:8]}, " + (
        f"channel {MAIL[:8]}, channel {GONE[:8]}"
    )


class ChannelsConfig:
    """config-svc's notification channels, and nothing else."""

    name = "config-svc"

    async def get(self, path: str, params: Any = None) -> Any:
        assert path == "/api/v1/notification-channels"
        return [{"id": HOOK, "name": "ops hook"}, {"id": MAIL, "name": "ops mail"}]


async def test_the_audit_page_names_a_rules_channels(app: Any) -> None:
    entry = audit_entry(rule_changed())
    assert entry is not None
    assert await wiring.of(app).audit_trail.record(entry) is True
    backends = wiring.of(app).backends
    backends.config = ChannelsConfig()  # type: ignore[assignment]
    async with client(app) as admin:
        await sign_in(admin, "admin@example.com")
        page = (await admin.get("/audit?entity=notify-rule")).text
    assert "Channels: ops hook → ops hook, ops mail, a channel deleted since" in page
    assert "After (minutes): 0 → 1" in page
    for raw in (HOOK, MAIL, GONE, "0.0", "1.0", "60.0"):
        assert raw not in page
