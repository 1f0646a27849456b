"""A keystore's page in process (conftest.py's app with the fakes of cert_fakes.py): rotation
with switch times, the certificates recent messages used, the test message, and the roles and
CSRF token every POST of the certificate pages needs."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
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


async def test_the_partners_certificate_is_taken_from_an_entry_of_a_pkcs12_file(
    certs_app: Any,
) -> None:
    """OpenAS2's as2_certs.p12 holds our key and every partner's certificate: the file's
    password and the partner's entry go to cert-svc, which takes that entry. A .p12 without
    its password is refused before cert-svc (it could not read it), and the entry typed is
    kept, the password never."""
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    cert.answers["/api/v1/certificates/partner"] = Change(201, {"warnings": []})
    p12 = ("as2_certs.p12", b"\x30\x82p12", "application/x-pkcs12")
    async with client(certs_app) as http:
        csrf = csrf_of(await keystore_page(http))
        no_password = await http.post(f"/certificates/{KEYSTORE}/partner", files={"file": p12},
                                      data={"csrf": csrf, "entry": "acme-2027"})  # fmt: skip
        taken = await http.post(f"/certificates/{KEYSTORE}/partner", files={"file": p12},
                                data={"csrf": csrf, "entry": " acme-2027 ",
                                      "password": "testas2"})  # fmt: skip
    assert no_password.status_code == 422
    form = form_of(no_password.text, "upload-partner-certificate")
    assert "as2_certs.p12 is a PKCS#12 file: give its password" in field_of(form, "password")
    assert 'value="acme-2027"' in field_of(form, "entry")
    assert '<details class="p12-entry" open>' in form
    assert taken.status_code == 303, taken.text
    ((_, path, _, sent),) = cert.changes
    assert path == "/api/v1/certificates/partner"
    assert (sent["data"]["entry"], sent["data"]["password"]) == ("acme-2027", "testas2")
    assert sent["files"]["file"][:2] == p12[:2]


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
    assert set(data) == {"password", "activation_at", "retire_previous_at"}
    # Switched now: the overlap is counted from the very time sent as the switch.
    switched = datetime.fromisoformat(data["activation_at"])
    assert abs(switched - datetime.now(UTC)) < timedelta(minutes=1)
    assert datetime.fromisoformat(data["retire_previous_at"]) - switched == timedelta(days=3)
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


def form_of(page: str, form_id: str) -> str:
    start = page.rindex("<form", 0, page.index(f'id="{form_id}"'))
    return page[start : page.index("</form>", start)]


def field_of(form: str, name: str) -> str:
    """The field's tag and what follows it in its label (the refusal next to it)."""
    start = form.index(f'name="{name}"')
    return html.unescape(form[start : form.index("</label>", start)])


async def test_a_switch_time_in_the_past_is_refused_at_its_field_keeping_the_form(
    certs_app: Any,
) -> None:
    """2020 as the switch: refused next to the field before cert-svc is asked, with the form
    as it was typed."""
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    async with client(certs_app) as http:
        page = await keystore_page(http)
        answer = await http.post(
            f"/certificates/{KEYSTORE}/rotate",
            data={
                "csrf": csrf_of(page),
                "key_bits": "3072",
                "validity_days": "365",
                "activation_at": "2020-01-10T09:30",
                "tz": "0",
                "overlap_days": "3",
            },
        )
    assert answer.status_code == 422
    assert cert.changes == []
    form = form_of(answer.text, "rotate-generate")
    switch_field = field_of(form, "activation_at")
    assert 'value="2020-01-10T09:30"' in switch_field
    assert "that time has passed: give a time from now on, or leave it empty" in switch_field
    assert 'value="3"' in field_of(form, "overlap_days")
    assert '<option value="3072" selected>' in form
    assert 'value="365"' in field_of(form, "validity_days")


async def test_refused_rotation_forms_keep_what_was_typed_but_no_secret(certs_app: Any) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    cert.answers[f"/api/v1/keystores/{KEYSTORE}/rotate/import"] = Change(
        422, {}, {"password": "the password does not open new.p12"}
    )
    cert.answers["/api/v1/certificates/partner"] = Change(422, {}, {"file": "not a certificate"})
    async with client(certs_app) as http:
        csrf = csrf_of(await keystore_page(http))
        imported = await http.post(
            f"/certificates/{KEYSTORE}/rotate/import",
            data={"csrf": csrf, "password": "p12-secret", "key_alias": "mykey",
                  "activation_at": "2031-05-01T08:00", "tz": "0", "overlap_days": "14"},
            files={"file": ("new.p12", b"\x30\x82new", "application/x-pkcs12")},
        )  # fmt: skip
        uploaded = await http.post(
            f"/certificates/{KEYSTORE}/partner",
            data={"csrf": csrf, "activation_at": "2031-06-01T08:00:30", "overlap_days": "2.5"},
            files={"file": ("acme.cer", b"junk", "application/pkix-cert")},
        )
    assert (imported.status_code, uploaded.status_code) == (422, 422)
    form = form_of(imported.text, "rotate-import")
    assert 'value="mykey"' in field_of(form, "key_alias")
    assert 'value="2031-05-01T08:00"' in field_of(form, "activation_at")
    assert 'value="14"' in field_of(form, "overlap_days")
    assert "the password does not open new.p12" in field_of(form, "password")
    assert "p12-secret" not in imported.text
    generate = form_of(imported.text, "rotate-generate")  # the other forms: their defaults
    assert 'value="730"' in generate
    assert 'value=""' in field_of(generate, "activation_at")
    form = form_of(uploaded.text, "upload-partner-certificate")
    assert 'value="2031-06-01T08:00:30"' in field_of(form, "activation_at")
    assert 'value="2.5"' in field_of(form, "overlap_days")


async def test_the_done_sentence_says_to_send_our_certificate_before_or_at_once(
    certs_app: Any,
) -> None:
    """Before the switch while it is to come; at once when it takes over now."""
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = keystore_view()
    async with client(certs_app) as http:
        csrf = csrf_of(await keystore_page(http))
        path = f"/certificates/{KEYSTORE}/rotate"
        later = await http.post(path, data={"csrf": csrf, "activation_at": "2031-05-01T08:00"})
        now = await http.post(path, data={"csrf": csrf, "overlap_days": "7"})
        later_page = text_of((await http.get(later.headers["location"])).text)
        now_page = text_of((await http.get(now.headers["location"])).text)
    assert "before it takes over" in later_page
    assert "It is in use now" not in later_page
    assert "It is in use now: send the partner its public certificate" in now_page
    assert "before it takes over" not in now_page


async def test_the_test_message_is_confirmed_first_then_goes_to_its_page(certs_app: Any) -> None:
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = keystore_view()
    async with client(certs_app) as http:
        page = await keystore_page(http, "operator@example.com")
        assert f'href="/certificates/{KEYSTORE}/test" id="send-test"' in page  # a link: asks
        assert "Complete KeyStore" not in page
        assert 'id="rotation"' not in page
        confirm = await http.get(f"/certificates/{KEYSTORE}/test")
        assert confirm.status_code == 200
        assert cert_fakes_of(certs_app).sender.sent == []  # asking sends nothing
        question = text_of(confirm.text)
        assert "Send a test message?" in question
        assert "from MYCO to ACME" in question
        assert "the partner receives it" in question
        form = form_of(confirm.text, "confirm-test")
        assert f'action="/certificates/{KEYSTORE}/test"' in form
        assert "Send it" in form
        answer = await http.post(
            f"/certificates/{KEYSTORE}/test", data={"csrf": csrf_of(confirm.text)}
        )
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
        confirm = await http.get(f"/certificates/{KEYSTORE}/test")  # says so before asking
        answer = await http.post(f"/certificates/{KEYSTORE}/test", data={"csrf": csrf_of(page)})
    assert "MYCO → ACME cannot send" in html.unescape(confirm.text)
    assert "Send it" not in confirm.text
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
        assert (await http.get(f"/certificates/{KEYSTORE}/test")).status_code == 403
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


async def test_a_certificate_not_replaced_is_accepted_until_its_expiry(certs_app: Any) -> None:
    """With no successor it was "Accepted until: until replaced", though it ends at its
    expiry; one retired before its expiry gives the retirement."""
    view = keystore_view(partner_days=12)
    retired = (NOW + timedelta(days=3)).isoformat()
    view["own_certificates"][0]["retirement_at"] = retired
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = view
    async with client(certs_app) as http:
        page = await keystore_page(http, "operator@example.com")
    partner_row = page[page.index('id="partner-certificate-list"') :]
    partner_row = partner_row[: partner_row.index("</tr>", partner_row.index("<tbody>"))]
    until = view["partner_certificates"][0]["not_after"]
    accepted = partner_row.split("<td>")[-2]
    assert f'datetime="{until}"' in accepted
    assert "its expiry, unless replaced before" in accepted
    assert "until replaced<" not in page
    own_row = page[page.index('id="own-certificates"') :]
    own_row = own_row[: own_row.index("</tr>", own_row.index("<tbody>"))]
    assert f'datetime="{retired}"' in own_row.split("<td>")[-2]
    # An operator may not upload the partner's new one: the notice says who may.
    assert "give the partner's new one to an admin" in partner_row
