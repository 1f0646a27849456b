"""The Partner page's TLS section in process, against the fake config-svc of
test_config_pages: what is stored is shown (certificates by subject and expiry, the warning of
skipped verification), a save sends only the TLS fields changed, refusals land next to their
fields, a private key never reaches the API nor comes back, and only admins with the form's
CSRF token change anything."""

from __future__ import annotations

import html
import re
from typing import Any

from as2bus.console.adapters.backends import Change
from as2bus.console.domain.partner_form import partner_values
from as2bus.console.domain.partner_tls_form import PRIVATE_KEY_REFUSED
from as2bus.contracts.config import PartnerTls
from as2bus.testing.tls import PrivateCa

from .conftest import client, csrf_of, sign_in
from .test_config_pages import ADMIN, VIEWER, ConfigBackends, error_of, fact, pair
from .test_config_pages import backends as backends  # the fixture, re-exported for these tests

CA = PrivateCa("acme private CA")
PIN = "ab" * 32


def stored_partner(backends: ConfigBackends, **tls: Any) -> dict[str, Any]:
    partner = backends.config.partners[pair(backends)["partner_id"]]
    partner["tls"] = {**PartnerTls().model_dump(), **tls}
    return partner


def textarea(page: str, name: str) -> str:
    found = re.search(rf'<textarea id="f-{name}"[^>]*>([^<]*)</textarea>', page, re.S)
    assert found is not None, f"no text area {name}"
    return html.unescape(found.group(1))


async def test_the_stored_tls_settings_are_shown_and_a_save_sends_only_what_changed(
    app: Any, backends: ConfigBackends
) -> None:
    partner = stored_partner(backends, ca_bundle_pem=CA.cert_pem.decode(), verify=False)
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = (await http.get(f"/partners/{partner['id']}")).text
        assert textarea(page, "tls_ca_bundle_pem") == CA.cert_pem.decode()
        until = f"{CA.cert.not_valid_after_utc:%Y-%m-%d}"
        assert f"<li>CN=acme private CA, until {until}</li>" in page
        assert 'name="tls_skip_verify" value="on" checked' in page
        assert 'id="f-tls_skip_verify-warning"><strong>Verification is off:' in page
        # The browser posts the form as shown (CRLF in text areas), a pin typed, the box
        # unchecked (an unchecked box is not posted).
        fields = {**partner_values(partner), "tls_pinned_sha256": PIN.upper(),
                  "csrf": csrf_of(page)}  # fmt: skip
        fields["tls_ca_bundle_pem"] = fields["tls_ca_bundle_pem"].replace("\n", "\r\n")
        del fields["tls_skip_verify"]
        forged = await http.post(f"/partners/{partner['id']}", data={**fields, "csrf": "x"})
        assert forged.status_code == 403
        answer = await http.post(f"/partners/{partner['id']}", data=fields)
    assert answer.status_code == 303, answer.text
    ((method, _, actor, body),) = backends.config.changes
    assert (method, actor) == ("PATCH", ADMIN)
    assert body == {"tls": {"pinned_sha256": [PIN.upper()], "verify": True}}


async def test_a_viewer_reads_the_tls_settings_certificates_by_subject_and_expiry(
    app: Any, backends: ConfigBackends
) -> None:
    partner = stored_partner(backends, client_certificates_pem=CA.cert_pem.decode(),
                             require_client_certificate=True, verify=False,
                             pinned_sha256=[PIN])  # fmt: skip
    async with client(app) as http:
        await sign_in(http, VIEWER)
        page = (await http.get(f"/partners/{partner['id']}")).text
    assert "<textarea" not in page
    tls = page.split('id="partner-tls"')[1]
    until = f"{CA.cert.not_valid_after_utc:%Y-%m-%d}"
    assert (fact(tls, "tls_client_certificates_pem"), fact(tls, "tls_require_client_certificate")
            ) == (f"CN=acme private CA, until {until}", "Yes")  # fmt: skip
    assert f'<span class="nowrap">until {until}</span>' in tls  # the date is never split
    assert tls.index('id="partner-tls-receiving"') < tls.index("fact-tls_client_certificates_pem")
    assert fact(tls, "tls_pinned_sha256") == PIN
    assert fact(tls, "tls_ca_bundle_pem") == "None: the public CAs"
    assert '<dd id="fact-tls_skip_verify" class="alarm">Yes: anyone on the network path' in tls


async def test_the_apis_refusal_of_a_pin_is_shown_next_to_the_pins(
    app: Any, backends: ConfigBackends
) -> None:
    partner = stored_partner(backends)
    backends.config.refuse_next = Change(422, None, {
        "tls.pinned_sha256.0": "Value error, must be a SHA-256 in hex: 64 hexadecimal digits",
    })  # fmt: skip
    async with client(app) as http:
        await sign_in(http, ADMIN)
        page = (await http.get(f"/partners/{partner['id']}")).text
        fields = {**partner_values(partner), "tls_pinned_sha256": "nope", "csrf": csrf_of(page)}
        answer = await http.post(f"/partners/{partner['id']}", data=fields)
    assert answer.status_code == 422
    assert error_of(answer.text, "tls_pinned_sha256") == (
        "pin 1: must be a SHA-256 in hex: 64 hexadecimal digits"
    )
    assert textarea(answer.text, "tls_pinned_sha256") == "nope"  # as typed


async def test_a_pasted_private_key_is_refused_before_the_api_and_not_shown_again(
    app: Any, backends: ConfigBackends
) -> None:
    key, cert = CA.issue()
    async with client(app) as http:
        await sign_in(http, ADMIN)
        form = await http.get("/partners/new")
        answer = await http.post("/partners", data={
            "csrf": csrf_of(form.text), "as2_id": "ACME", "name": "Acme",
            "as2_url": "https://acme.example/as2", "tls_min_version": "1.2",
            "tls_ca_bundle_pem": (key + cert).decode(),
        })  # fmt: skip
    assert answer.status_code == 422
    assert error_of(answer.text, "tls_ca_bundle_pem") == html.escape(PRIVATE_KEY_REFUSED)
    assert textarea(answer.text, "tls_ca_bundle_pem") == ""
    assert key.decode().splitlines()[1] not in answer.text
    assert backends.config.changes == []
