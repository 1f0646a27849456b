"""A keystore's page in process (conftest.py's app with the fakes of cert_fakes.py): rotation
with switch times, the certificates recent messages used, the test message, and the roles and
CSRF token every POST of the certificate pages needs."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest

from as2bus.console.adapters.backends import Change

from .cert_fakes import (
    KEYSTORE,
    NOW,
    cert_fakes_of,
    install_fakes,
    keystore_view,
    partner_pem,
    text_of,
)
from .conftest import client, csrf_of, sign_in


@pytest.fixture
async def certs_app(app: Any) -> Any:
    return await install_fakes(app)


# --- the keystore page: rotation and the test message ------------------------------------------
async def keystore_page(http: httpx.AsyncClient, email: str = "admin@example.com") -> str:
    await sign_in(http, email)
    page = await http.get(f"/certificates/{KEYSTORE}")
    assert page.status_code == 200, page.text
    return page.text


async def test_the_partners_new_certificate_is_uploaded_with_its_switch(certs_app: Any) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    cert.answers["/api/v1/certificates/partner"] = Change(201, {"warnings": []})
    async with client(certs_app) as http:
        page = await keystore_page(http)
        answer = await http.post(
            f"/certificates/{KEYSTORE}/partner",
            data={
                "csrf": csrf_of(page),
                "activation_at": "2027-01-10T09:00",
                "tz": "-60",
                "overlap_days": "7",
            },
            files={"file": ("acme-2027.cer", partner_pem(), "application/pkix-cert")},
        )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/certificates/{KEYSTORE}?done=")
    ((method, path, actor, sent),) = cert.changes
    assert (method, path, actor) == ("POST", "/api/v1/certificates/partner", "admin@example.com")
    assert sent["data"] == {
        "alias": "acme",
        "activation_at": "2027-01-10T09:00:00+01:00",
        "retire_previous_at": "2027-01-17T09:00:00+01:00",
    }


async def test_our_new_certificate_generated_or_imported(certs_app: Any) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    async with client(certs_app) as http:
        page = await keystore_page(http)
        csrf = csrf_of(page)
        generated = await http.post(
            f"/certificates/{KEYSTORE}/rotate",
            data={
                "csrf": csrf,
                "key_bits": "3072",
                "validity_days": "365",
                "activation_at": "2027-01-10T09:00",
                "tz": "0",
            },
        )
        imported = await http.post(
            f"/certificates/{KEYSTORE}/rotate/import",
            data={
                "csrf": csrf,
                "password": "p12-secret",
                "overlap_days": "3",
            },
            files={"file": ("new.p12", b"\x30\x82new", "application/x-pkcs12")},
        )
    assert (generated.status_code, imported.status_code) == (303, 303)
    (rotate, rotate_import) = cert.changes
    assert rotate[1] == f"/api/v1/keystores/{KEYSTORE}/rotate"
    assert rotate[3]["json"] == {
        "key_bits": 3072,
        "validity_days": 365,
        "activation_at": "2027-01-10T09:00:00+00:00",
    }
    assert rotate_import[1] == f"/api/v1/keystores/{KEYSTORE}/rotate/import"
    data = rotate_import[3]["data"]
    assert data["password"] == "p12-secret"
    assert set(data) == {"password", "retire_previous_at"}  # activation: now
    assert rotate_import[3]["files"]["file"][:2] == ("new.p12", b"\x30\x82new")


async def test_a_refused_rotation_shows_the_reason_next_to_the_field(certs_app: Any) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    sentence = "the previous certificates cannot retire before the new one activates"
    path = f"/api/v1/keystores/{KEYSTORE}/rotate"
    cert.answers[path] = Change(422, {}, {"retire_previous_at": sentence})
    async with client(certs_app) as http:
        page = await keystore_page(http)
        answer = await http.post(
            f"/certificates/{KEYSTORE}/rotate",
            data={
                "csrf": csrf_of(page),
                "overlap_days": "0",
            },
        )
    assert answer.status_code == 422
    form = answer.text[answer.text.index('id="rotate-generate"') :]
    overlap = form[form.index('name="overlap_days"') :]
    assert sentence in overlap[: overlap.index("</label>")]


async def test_the_test_message_goes_through_the_sender_to_its_page(certs_app: Any) -> None:
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = keystore_view()
    async with client(certs_app) as http:
        page = await keystore_page(http, "operator@example.com")
        assert 'id="send-test"' in page
        assert "Complete KeyStore" not in page
        assert 'id="rotation"' not in page
        answer = await http.post(f"/certificates/{KEYSTORE}/test", data={"csrf": csrf_of(page)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sent/console-req-9"  # then the message's page
    ((document, size, fields),) = cert_fakes_of(certs_app).sender.sent
    assert size == len(document)
    assert document.startswith(b"as2bus test message from MYCO to ACME, sent by operator@")
    assert (fields["station"], fields["partner"]) == ("MYCO", "ACME")
    assert (fields["content_type"], fields["subject"]) == ("text/plain", "as2bus test message")


async def test_no_test_message_on_a_disabled_partnership(certs_app: Any) -> None:
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = keystore_view()
    cert_fakes_of(certs_app).backends.config.partnerships = []
    async with client(certs_app) as http:
        page = await keystore_page(http, "operator@example.com")
        answer = await http.post(f"/certificates/{KEYSTORE}/test", data={"csrf": csrf_of(page)})
    assert answer.status_code == 422
    assert "MYCO → ACME cannot send" in html.unescape(answer.text)
    assert cert_fakes_of(certs_app).sender.sent == []


async def test_the_page_says_which_certificate_each_recent_message_used(certs_app: Any) -> None:
    view = keystore_view()
    ours, theirs = view["own_certificates"][0], view["partner_certificates"][0]
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = view
    sent = {
        "headers": {"AS2-To": "ACME"},
        "signed_with": ours["fingerprint_sha256"],
        "encrypted_for": "AA:" * 31 + "AA",
    }
    cert_fakes_of(certs_app).backends.tracklog.details["m1"] = {
        "id": "m1",
        "direction": "outbound",
        "status": "delivered",
        "filename": "po.x12",
        "created_at": NOW.isoformat(),
        "timeline": [{"event_type": "MessageSent", "occurred_at": NOW.isoformat(), "data": sent}],
    }
    async with client(certs_app) as http:
        page = await keystore_page(http, "viewer@example.com")
    assert ("/api/v1/messages", {"station": "MYCO", "partner": "ACME", "limit": 10}) in (
        cert_fakes_of(certs_app).backends.tracklog.asked
    )
    table = text_of(page[page.index('class="message-certificates"') :])
    assert f"signed with: CN=myco {ours['fingerprint_sha256'][:11]}… (now active)" in table
    assert "encrypted for: a certificate not in this keystore AA:AA:AA:AA…" in table
    assert theirs["subject"] not in table
    assert 'id="send-test"' not in page  # a viewer sends nothing


async def test_a_viewer_gets_403_on_every_post_even_with_its_token(certs_app: Any) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    async with client(certs_app) as http:
        csrf = csrf_of(await keystore_page(http, "viewer@example.com"))
        for path in (
            "/certificates/new",
            f"/certificates/{KEYSTORE}/partner",
            f"/certificates/{KEYSTORE}/rotate",
            f"/certificates/{KEYSTORE}/rotate/import",
            f"/certificates/{KEYSTORE}/test",
        ):
            data = {"csrf": csrf, "station": "MYCO", "partner": "BETA"}
            assert (await http.post(path, data=data)).status_code == 403, path
    async with client(certs_app) as http:
        csrf = csrf_of(await keystore_page(http, "operator@example.com"))
        for path in (
            "/certificates/new",
            f"/certificates/{KEYSTORE}/partner",
            f"/certificates/{KEYSTORE}/rotate",
            f"/certificates/{KEYSTORE}/rotate/import",
        ):
            data = {"csrf": csrf, "station": "MYCO", "partner": "BETA"}
            assert (await http.post(path, data=data)).status_code == 403, path
        assert (await http.get("/certificates/new")).status_code == 403
    async with client(certs_app) as http:  # an admin without the form's token
        await sign_in(http, "admin@example.com")
        answer = await http.post(f"/certificates/{KEYSTORE}/rotate", data={"csrf": "guess"})
        assert answer.status_code == 403
    assert cert.changes == []
    assert cert_fakes_of(certs_app).sender.sent == []
