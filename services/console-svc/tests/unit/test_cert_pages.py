"""The certificate list, its downloads and Create Cert in process (conftest.py's app with the
fakes of cert_fakes.py): what each role sees and may download, options A and B sending cert-svc
one call with the partner's certificate, and its refusals shown next to their fields."""

from __future__ import annotations

import base64
import html
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from as2bus.console.adapters.backends import Change, File

from .cert_fakes import (
    KEYSTORE,
    NEW_KEYSTORE,
    cert_fakes_of,
    certificate_view,
    install_fakes,
    keystore_view,
    partner_pem,
    text_of,
)
from .conftest import client, csrf_of, sign_in


@pytest.fixture
async def certs_app(app: Any) -> Any:
    return await install_fakes(app)


# --- the list and its downloads ----------------------------------------------------------------
async def test_the_list_highlights_and_words_a_certificate_under_30_days(certs_app: Any) -> None:
    view = keystore_view(partner_days=12)
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = view
    by = (
        (datetime.fromisoformat(view["partner_certificates"][0]["not_after"]) - timedelta(days=7))
        .date()
        .isoformat()
    )
    async with client(certs_app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/certificates")).text
    row = page[page.index('<tr class="attention"') : page.index("</tr>", page.index("<tbody>"))]
    assert f'href="/certificates/{KEYSTORE}"' in row
    assert "expiry expiry-soon" in row
    assert f"expires in 12 days — ask the partner for a new one by {by}" in text_of(row)
    assert "400 days left" in text_of(row)  # ours: fine, not highlighted
    assert text_of(row).count("expires in") == 1
    # The date is one the page's script writes as the browser's language does, like the rest.
    assert f'<time class="date nowrap" datetime="{by}">{by}</time>' in row
    # A viewer cannot upload it: told who can.
    told = "Only an admin uploads or generates a new certificate: give the partner's new one"
    assert f"{told} to an admin." in text_of(row)
    assert "Public certificate (.cer)" in page
    assert "Complete KeyStore (.p12)" not in page  # a viewer may not download our key
    assert "Create Cert" not in page.split("<main>")[1].split("No certificates")[0]


async def test_an_admin_sees_the_p12_downloads_with_the_warning(certs_app: Any) -> None:
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = keystore_view(own_days=-2)
    async with client(certs_app) as http:
        await sign_in(http, "admin@example.com")
        page = (await http.get("/certificates")).text
    words = text_of(page)
    assert f'href="/certificates/{KEYSTORE}/keystore.p12"' in page
    assert f'href="/certificates/{KEYSTORE}/partner.p12"' in page
    assert "Never send a Complete KeyStore (.p12) to a partner" in words
    assert (
        "expired — generate or import a new one and send the partner its public certificate now"
    ) in words
    assert 'id="create-cert"' in page


async def test_partnerships_signing_with_the_station_key_are_listed_too(certs_app: Any) -> None:
    """Before, only keystores had a row: a partnership signing with its station's key (made
    before keystores) appeared nowhere, nor the partner certificate it uses."""
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()  # MYCO → ACME has one; MYCO → BETA has none
    beta = certificate_view("beta", "partner", 12)
    cert.certificates = [certificate_view("myco", "own", 400), beta]
    async with client(certs_app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/certificates")).text
    table = page[page.index('id="station-keys"') :]
    rows = table[: table.index("</table>")].split("<tr")[2:]
    assert len(rows) == 1
    (row,) = rows
    assert 'href="/partnerships/p2">MYCO</a>' in row
    assert "the AS2 Instance's key myco" in text_of(row)
    assert "CN=myco" in row
    assert "alias beta" in text_of(row)
    assert "CN=beta" in row
    assert "expires in 12 days — ask the partner for a new one" in text_of(row)
    assert 'href="/partnerships/p2/certificate.cer"' in row
    assert "No certificates yet" not in page


async def test_with_no_keystore_the_list_says_create_cert(certs_app: Any) -> None:
    async with client(certs_app) as http:
        await sign_in(http, "admin@example.com")
        page = (await http.get("/certificates")).text
    assert "No certificates yet: Create Cert" in text_of(page)
    assert '<a href="/certificates/new">Create Cert</a>' in page


async def test_the_three_downloads_and_who_may_have_them(certs_app: Any) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    cert.keystores[KEYSTORE] = keystore_view()
    base = f"/api/v1/keystores/{KEYSTORE}"
    cert.files[f"{base}/certificate.cer"] = File(
        b"-----BEGIN CERTIFICATE-----\n", "application/x-pem-file", "myco.cer"
    )
    cert.files[f"{base}/keystore.p12"] = File(
        b"\x30\x82p12", "application/x-pkcs12", "MYCO-ACME.p12"
    )
    cert.files[f"{base}/partner.p12"] = File(b"\x30\x82acme", "application/x-pkcs12", "acme.p12")
    for email in ("viewer@example.com", "operator@example.com"):
        async with client(certs_app) as http:
            await sign_in(http, email)
            public = await http.get(f"/certificates/{KEYSTORE}/certificate.cer")
            assert public.status_code == 200
            assert public.content == b"-----BEGIN CERTIFICATE-----\n"
            assert public.headers["content-type"] == "application/x-pem-file"
            assert "filename*=UTF-8''myco.cer" in public.headers["content-disposition"]
            for name in ("keystore.p12", "partner.p12"):
                assert (await http.get(f"/certificates/{KEYSTORE}/{name}")).status_code == 403
    async with client(certs_app) as http:
        await sign_in(http, "admin@example.com")
        complete = await http.get(f"/certificates/{KEYSTORE}/keystore.p12")
        partner = await http.get(f"/certificates/{KEYSTORE}/partner.p12")
    assert (complete.content, complete.headers["content-type"]) == (
        b"\x30\x82p12",
        "application/x-pkcs12",
    )
    assert "MYCO-ACME.p12" in complete.headers["content-disposition"]
    assert complete.headers["cache-control"] == "no-store"
    assert partner.content == b"\x30\x82acme"
    assert "acme.p12" in partner.headers["content-disposition"]


async def test_a_download_without_a_certificate_in_service_says_why(certs_app: Any) -> None:
    view = keystore_view()
    view["partner_certificates"] = []
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = view
    async with client(certs_app) as http:
        await sign_in(http, "admin@example.com")
        answer = await http.get(f"/certificates/{KEYSTORE}/partner.p12")
        unknown = await http.get("/certificates/not-a-keystore")
    assert answer.status_code == 409
    assert "MYCO → ACME has no partner certificate in service yet" in text_of(answer.text)
    assert unknown.status_code == 404


# --- Create Cert -------------------------------------------------------------------------------
async def create_form(http: httpx.AsyncClient, station: str = "MYCO", partner: str = "ACME") -> str:
    await sign_in(http, "admin@example.com")
    page = await http.get("/certificates/new", params={"station": station, "partner": partner})
    assert page.status_code == 200, page.text
    return page.text


async def test_create_cert_offers_only_partnerships_without_a_keystore(certs_app: Any) -> None:
    view = keystore_view()  # MYCO → ACME has one
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = view
    async with client(certs_app) as http:
        await sign_in(http, "admin@example.com")
        first = (await http.get("/certificates/new")).text
        taken = await http.get("/certificates/new?station=MYCO&partner=ACME")
        unlinked = await http.get("/certificates/new?station=OTHER&partner=ACME")
        chosen = (await http.get("/certificates/new?station=MYCO&partner=BETA")).text
    assert 'href="/certificates/new?station=MYCO&amp;partner=BETA"' in first
    assert "partner=ACME" not in first
    assert taken.status_code == 422
    assert "MYCO → ACME has a keystore already" in text_of(taken.text)
    assert f'href="/certificates/{KEYSTORE}"' in taken.text
    assert "have no partnership: create it first" in text_of(unlinked.text)
    # step two: the aliases pre-filled from the station and the partner
    assert 'name="private_key_alias" value="myco"' in chosen
    assert 'name="partner_cert_alias" value="beta"' in chosen
    assert 'value="generate" checked' in chosen  # the station has no key yet


async def test_create_cert_option_a_sends_the_keystore_with_the_partner_cert(
    certs_app: Any,
) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    async with client(certs_app) as http:
        form = await create_form(http)
        answer = await http.post(
            "/certificates/new",
            data={
                "csrf": csrf_of(form),
                "station": "MYCO",
                "partner": "ACME",
                "mode": "generate",
                "own_key": "generate",
                "password": "keystore-secret",
                "private_key_alias": "myco",
                "partner_cert_alias": "acme",
            },
            files={"partner_file": ("acme.cer", partner_pem(), "application/pkix-cert")},
        )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/certificates/{NEW_KEYSTORE}?done=")
    ((method, path, actor, sent),) = cert.changes  # one call: both stored, or neither
    assert (method, path, actor) == ("POST", "/api/v1/keystores", "admin@example.com")
    assert sent["json"] == {
        "station": "MYCO",
        "partner": "ACME",
        "password": "keystore-secret",
        "own_key": "generate",
        "partner_cert_alias": "acme",
        "private_key_alias": "myco",
        "partner_certificate": partner_pem().decode(),
    }


async def test_create_cert_option_b_imports_our_pkcs12(certs_app: Any) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    # The partner's certificate is held already: the file may stay empty, none is sent.
    cert.certificates.append(certificate_view("acme", "partner", 300))
    async with client(certs_app) as http:
        form = await create_form(http)
        assert "leave the file empty to use it" in text_of(form)
        answer = await http.post(
            "/certificates/new",
            data={
                "csrf": csrf_of(form),
                "station": "MYCO",
                "partner": "ACME",
                "mode": "import",
                "password": "p12-secret",
                "export_password": "export-secret",
                "key_alias": "myco-2026",
                "private_key_alias": "myco",
                "partner_cert_alias": "acme",
            },
            files={
                "file": ("ours.p12", b"\x30\x82p12", "application/x-pkcs12"),
                "partner_file": ("", b"", "application/octet-stream"),
            },
        )
    assert answer.status_code == 303, answer.text
    ((method, path, actor, sent),) = cert.changes
    assert (method, path, actor) == ("POST", "/api/v1/keystores/import", "admin@example.com")
    assert sent["data"] == {
        "station": "MYCO",
        "partner": "ACME",
        "password": "p12-secret",
        "export_password": "export-secret",  # OpenAS2's "testas2" opens the file, not exports
        "partner_cert_alias": "acme",
        "key_alias": "myco-2026",
        "private_key_alias": "myco",
    }
    assert sent["files"]["file"][:2] == ("ours.p12", b"\x30\x82p12")
    assert "partner_file" not in sent["files"]


@pytest.mark.parametrize(
    ("field", "sentence"),
    [
        (
            "password",
            "wrong password for this PKCS#12 file: give the password it was exported with",
        ),
        ("key_alias", "no entry 'myco' in the file; aliases present: myco-2026, acme"),
    ],
)
async def test_a_refused_import_is_shown_next_to_its_field_and_nothing_else_runs(
    certs_app: Any, field: str, sentence: str
) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    refusal = {"detail": [{"loc": ["body", field], "msg": sentence, "type": "value_error"}]}
    cert.answers["/api/v1/keystores/import"] = Change(422, refusal, {field: sentence})
    async with client(certs_app) as http:
        form = await create_form(http)
        answer = await http.post(
            "/certificates/new",
            data={
                "csrf": csrf_of(form),
                "station": "MYCO",
                "partner": "ACME",
                "mode": "import",
                "password": "p12-secret",
                "key_alias": "myco",
                "private_key_alias": "myco",
                "partner_cert_alias": "acme",
            },
            files={
                "file": ("ours.p12", b"\x30\x82p12", "application/x-pkcs12"),
                "partner_file": ("acme.cer", partner_pem(), "application/pkix-cert"),
            },
        )
    assert answer.status_code == 422
    assert [c[1] for c in cert.changes] == ["/api/v1/keystores/import"]  # nothing else
    form_b = answer.text[answer.text.index('id="create-import"') :]
    label = form_b[form_b.index(f'name="{field}"') :]
    assert html.unescape(label[: label.index("</label>")]).count(sentence) == 1
    assert sentence not in html.unescape(answer.text[: answer.text.index('id="create-import"')])


async def test_a_refused_partner_certificate_is_shown_next_to_the_partner_file(
    certs_app: Any,
) -> None:
    cert = cert_fakes_of(certs_app).backends.cert
    sentence = (
        "partner_certificate holds a private key; upload only the partner's public certificate "
        "(PEM or DER)"
    )
    refusal = {"detail": [{"loc": ["body", "partner_certificate"], "msg": sentence, "type": "x"}]}
    cert.answers["/api/v1/keystores"] = Change(422, refusal, {"partner_certificate": sentence})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    async with client(certs_app) as http:
        form = await create_form(http)
        answer = await http.post(
            "/certificates/new",
            data={
                "csrf": csrf_of(form),
                "station": "MYCO",
                "partner": "ACME",
                "mode": "generate",
                "own_key": "generate",
                "password": "keystore-secret",
                "private_key_alias": "myco",
                "partner_cert_alias": "acme",
            },
            files={"partner_file": ("acme-key.pem", key_pem, "application/x-pem-file")},
        )
    assert answer.status_code == 422
    ((_, path, _, sent),) = cert.changes  # cert-svc judged it, and nothing else was called
    assert path == "/api/v1/keystores"
    assert sent["json"]["partner_certificate"] == key_pem.decode()
    form_a = answer.text[answer.text.index('id="create-generate"') :]
    label = form_a[form_a.index('name="partner_file"') :]
    assert html.unescape(label[: label.index("</label>")]).count(sentence) == 1
    assert html.unescape(answer.text).count(sentence) == 1
    assert 'name="partner_cert_alias" value="acme"' in answer.text  # what was typed stays


async def test_create_cert_takes_the_partners_certificate_from_an_entry_of_a_pkcs12_file(
    certs_app: Any,
) -> None:
    """Option A with the partner's certificate in OpenAS2's as2_certs.p12: the file (in
    base64), its password and the entry go to cert-svc in the one call; its refusal of the
    entry is shown at the entry's field, which keeps what was typed (the password never)."""
    cert = cert_fakes_of(certs_app).backends.cert
    sentence = "as2_certs.p12 holds 2 certificate entries (partnera, partnerb): name the partner's"
    cert.answers["/api/v1/keystores"] = Change(422, {}, {"partner_certificate_entry": sentence})
    p12 = b"\x30\x82\x01p12"
    async with client(certs_app) as http:
        form = await create_form(http)
        answer = await http.post(
            "/certificates/new",
            data={"csrf": csrf_of(form), "station": "MYCO", "partner": "ACME",
                  "mode": "generate", "own_key": "generate", "password": "keystore-secret",
                  "private_key_alias": "myco", "partner_cert_alias": "acme",
                  "partner_file_password": "testas2", "partner_file_entry": "partnerx"},
            files={"partner_file": ("as2_certs.p12", p12, "application/x-pkcs12")},
        )  # fmt: skip
    assert answer.status_code == 422
    ((_, path, _, sent),) = cert.changes
    assert path == "/api/v1/keystores"
    assert sent["json"]["partner_certificate"] == base64.b64encode(p12).decode()
    assert (sent["json"]["partner_certificate_password"],
            sent["json"]["partner_certificate_entry"]) == ("testas2", "partnerx")  # fmt: skip
    form_a = answer.text[answer.text.index('id="create-generate"') :]
    entry = form_a[form_a.index('name="partner_file_entry"') :]
    entry = html.unescape(entry[: entry.index("</label>")])
    assert 'value="partnerx"' in entry
    assert sentence in entry
    assert "testas2" not in answer.text


async def test_an_admin_is_not_sent_to_an_admin_for_a_new_certificate(certs_app: Any) -> None:
    cert_fakes_of(certs_app).backends.cert.keystores[KEYSTORE] = keystore_view(partner_days=12)
    async with client(certs_app) as http:
        await sign_in(http, "admin@example.com")
        listed = (await http.get("/certificates")).text
        keystore = (await http.get(f"/certificates/{KEYSTORE}")).text
    assert "ask the partner for a new one" in listed
    assert "Only an admin" not in listed
    assert "Only an admin" not in keystore
