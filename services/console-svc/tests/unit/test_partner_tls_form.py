"""The Partner form's TLS section ↔ config-svc's ``tls`` (domain/partner_tls_form.py, through
partner_form.py): no I/O, no app. Certificates of the shared test CA."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from as2bus.console.domain.partner_form import (
    NEW_PARTNER,
    partner_body,
    partner_errors,
    partner_values,
    typed_back,
)
from as2bus.console.domain.partner_tls_form import PRIVATE_KEY_REFUSED, stored_certificates
from as2bus.contracts.config import PartnerTls
from as2bus.testing.tls import PrivateCa

from .test_partner_form import STORED, new_form

CA = PrivateCa("partner TLS CA")
KEY, SERVER = CA.issue(host="as2.acme.example", expired=True)
PIN = "ab" * 32


def crlf(pem: bytes) -> str:
    """PEM as a browser posts a text area: CRLF line ends."""
    return pem.decode().replace("\n", "\r\n")


def test_a_new_partner_gets_every_tls_setting_typed() -> None:
    form = new_form(tls_ca_bundle_pem=crlf(CA.cert_pem), tls_pinned_sha256=f"{PIN}\r\n\r\nCD:EF",
                    tls_client_certificate="on", tls_min_version="1.3", tls_skip_verify="on",
                    tls_proxy_url="http://proxy:3128", tls_follow_redirects="on",
                    tls_require_client_certificate="on",
                    tls_client_certificates_pem=SERVER.decode())  # fmt: skip
    body, mistakes = partner_body(form, None)
    assert mistakes == {}
    assert body["tls"] == {
        "ca_bundle_pem": CA.cert_pem.decode().strip(), "pinned_sha256": [PIN, "CD:EF"],
        "client_certificate": True, "min_version": "1.3", "verify": False,
        "proxy_url": "http://proxy:3128", "follow_redirects": True,
        "require_client_certificate": True, "client_certificates_pem": SERVER.decode().strip(),
    }  # fmt: skip


def test_the_new_partner_form_starts_with_the_contracts_defaults() -> None:
    assert {k: v for k, v in NEW_PARTNER.items() if k.startswith("tls_")} == {
        "tls_ca_bundle_pem": "", "tls_client_certificates_pem": "", "tls_pinned_sha256": "",
        "tls_client_certificate": "off", "tls_follow_redirects": "off",
        "tls_require_client_certificate": "off", "tls_min_version": "1.2",
        "tls_skip_verify": "off", "tls_proxy_url": "",
    }  # fmt: skip
    assert partner_body(new_form(), None)[0]["tls"] == PartnerTls().model_dump()


def stored_with_tls(**tls: Any) -> dict[str, Any]:
    return {**STORED, "tls": {**PartnerTls().model_dump(), **tls}}


def test_an_untouched_form_sends_no_tls_even_as_the_browser_reposts_the_pem() -> None:
    stored = stored_with_tls(ca_bundle_pem=CA.cert_pem.decode(), pinned_sha256=[PIN],
                             verify=False, proxy_url="http://proxy:3128")  # fmt: skip
    values = partner_values(stored)
    assert values["tls_pinned_sha256"] == PIN
    assert values["tls_skip_verify"] == "on"
    as_posted = {**values, "tls_ca_bundle_pem": crlf(CA.cert_pem).strip()}
    assert partner_body(as_posted, stored)[0] == {}
    # A partner stored before TLS settings: the defaults, and an untouched form sends nothing.
    assert partner_body(partner_values(STORED), STORED)[0] == {}


def test_an_update_sends_only_the_tls_fields_changed() -> None:
    stored = stored_with_tls(ca_bundle_pem=CA.cert_pem.decode(), pinned_sha256=[PIN],
                             verify=False)  # fmt: skip
    values = partner_values(stored)
    unchecked = {k: v for k, v in values.items() if k != "tls_skip_verify"}  # not posted
    assert partner_body(unchecked, stored)[0] == {"tls": {"verify": True}}
    cleared = {**values, "tls_ca_bundle_pem": "", "tls_pinned_sha256": PIN.upper()}
    assert partner_body(cleared, stored)[0] == {"tls": {"ca_bundle_pem": None}}
    more_pins = {**values, "tls_pinned_sha256": f"{PIN}\n{'cd' * 32}", "tls_proxy_url": "x"}
    assert partner_body(more_pins, stored)[0] == {
        "tls": {"pinned_sha256": [PIN, "cd" * 32], "proxy_url": "x"}
    }


def test_a_form_without_the_tls_section_leaves_tls_alone() -> None:
    values = {k: v for k, v in partner_values(STORED).items() if not k.startswith("tls_")}
    assert partner_body(values, STORED)[0] == {}


def test_a_private_key_is_refused_before_the_api_and_not_shown_again() -> None:
    form = new_form(tls_client_certificates_pem=(KEY + SERVER).decode())
    body, mistakes = partner_body(form, None)
    assert mistakes == {"tls_client_certificates_pem": PRIVATE_KEY_REFUSED}
    assert "tls" not in body  # and the page does not ask the API with mistakes
    assert typed_back(form)["tls_client_certificates_pem"] == ""
    assert typed_back(form)["as2_id"] == "ACME"


def test_stored_certificates_are_named_with_their_expiry() -> None:
    stored = stored_with_tls(client_certificates_pem=(CA.cert_pem + SERVER).decode())
    now = datetime.now(UTC)
    until = f"{CA.cert.not_valid_after_utc:%Y-%m-%d}"
    listed = stored_certificates(stored, now)
    assert listed["tls_ca_bundle_pem"] == []
    (ca, server) = listed["tls_client_certificates_pem"]
    assert ca == f"CN=partner TLS CA, until {until}"
    assert server.startswith("CN=as2.acme.example, expired ")


def test_the_apis_tls_refusals_land_next_to_their_fields() -> None:
    by_field, on_top = partner_errors({
        "tls.ca_bundle_pem": "Value error, must be one or more PEM certificates",
        "tls.pinned_sha256.1": "Value error, must be a SHA-256 in hex",
        "tls.pinned_sha256.3": "Value error, must be a SHA-256 in hex",
        "tls.verify": "Input should be a valid boolean",
        "tls.proxy_url": "Value error, must be an http:// or https:// URL with a host",
        "tls": "cannot be null",
    })  # fmt: skip
    assert by_field == {
        "tls_ca_bundle_pem": "must be one or more PEM certificates",
        "tls_pinned_sha256": "pin 2: must be a SHA-256 in hex; pin 4: must be a SHA-256 in hex",
        "tls_skip_verify": "Skip verification of the partner's server certificate (test partners "
        "only) must be yes or no",
        "tls_proxy_url": "must be an http:// or https:// URL with a host",
    }
    assert on_top == ["tls: cannot be null"]
