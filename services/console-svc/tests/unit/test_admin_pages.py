"""Users and the audit trail in process (fake backends, SQLite on a temporary file): admins
only, every form with its CSRF token, the last admin kept, sessions ended, each change in
the audit trail with its author and never a password."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from as2bus.console.domain.audit import UNRECORDED, audit_entry, describe_change
from as2bus.console.wiring import wiring

from .conftest import client, csrf_of, sign_in


def event(kind: str, data: dict[str, Any], audit: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "event_type": kind, "data": data, "audit": audit,
            "occurred_at": datetime(2026, 12, 4, 9, tzinfo=UTC).isoformat()}  # fmt: skip


def test_which_events_are_changes_and_how_they_read() -> None:
    changes = {"name": {"from": "Acme", "to": "Acme EU"}, "secret password": {"to": "replaced"}}
    audit = {"actor": "alice@example.com via API token 1a2b3c4d", "changes": changes}
    updated = audit_entry(event("PartnerUpdated", {"as2_id": "ACME"}, audit))
    assert updated is not None
    assert (updated.entity, updated.action, updated.label) == ("partner", "updated", "ACME")
    assert updated.actor == "alice@example.com via API token 1a2b3c4d"
    lines = [describe_change(k, v) for k, v in sorted(updated.changes.items())]
    assert lines == ["name: Acme → Acme EU", "secret password: replaced"]
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
    assert [describe_change(k, v) for k, v in sorted(cert.changes.items())] == [
        "change: new-certificate", "fingerprint_sha256: AB:CD", "subject: CN=acme",
    ]  # fmt: skip
    assert describe_change("algs", {"from": ["sha1"], "to": ["sha256", "sha384"]}) == (
        "algs: sha1 → sha256, sha384"
    )
    two = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" * 2
    assert describe_change("tls.ca_bundle_pem", {"from": None, "to": two}) == (
        "tls.ca_bundle_pem: 2 PEM certificates"  # not the PEM text
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
        made = await admin.post("/users", data={"csrf": csrf, "email": "new@example.com",
                                                "role": "operator"})  # fmt: skip
        assert made.status_code == 200
        assert "shown this once" in made.text
        password = made.text.split('<code class="password">')[1].split("<")[0]
        assert len(password) >= 12
        moved = await admin.post("/users/new@example.com", data={"csrf": csrf, "role": "viewer"})
        assert moved.status_code == 303
        off = await admin.post("/users/new@example.com", data={"csrf": csrf, "status": "disabled"})
        assert off.status_code == 303
        last = await admin.post("/users/admin@example.com", data={"csrf": csrf, "role": "viewer"})
        assert last.status_code == 422
        assert "last enabled admin" in last.text
        reset = await admin.post("/users/viewer@example.com/password", data={"csrf": csrf})
        assert "shown this once" in reset.text

        audit = (await admin.get("/audit", params={"entity": "user"})).text
        # The actor's cell, an address that may break after its "@": created, role, disabled,
        # password.
        assert audit.count('<td class="actor">admin@<wbr>example.com</td>') == 4
        assert "role: operator → viewer" in audit
        assert "status: enabled → disabled" in audit
        assert "secret password: replaced" in audit
        assert password not in audit
        only_new = (await admin.get("/audit", params={"q": "new@"})).text
        assert "viewer@<wbr>example.com" not in only_new  # as an address is shown
        assert "new@<wbr>example.com" in only_new


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
        first = (await admin.get("/audit")).text
        assert first.index("S59") < first.index("S10")
        assert "S09" not in first  # the 51st newest and older are on the next page
        older = first.split('href="/audit?before=')[1].split('"')[0]
        second = (await admin.get(f"/audit?before={older}".replace("&amp;", "&"))).text
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
