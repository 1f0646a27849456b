"""The configuration forms ↔ config-svc's JSON (domain/partner_form.py, config_forms.py): no
I/O, no app."""

from __future__ import annotations

from typing import Any

import pytest

from as2bus.console.domain.config_forms import (
    certificate_in_use,
    in_flight_refusal,
    keystore_of,
    place_errors,
    sentence,
    station_body,
)
from as2bus.console.domain.partner_form import (
    NEW_PARTNER,
    form_field,
    partner_body,
    partner_errors,
    partner_values,
    stored_secrets,
    typed_back,
)
from as2bus.contracts.config import PartnerTls

STORED: dict[str, Any] = {
    "id": "p-1", "as2_id": "ACME", "name": "Acme Corp", "as2_alias": "acme", "email": None,
    "enabled": True, "as2_url": "https://acme.example/as2", "mdn_mode": "sync",
    "async_mdn_url": None, "mdn_signature": "required", "mdn_signing_alg": "sha256",
    "encryption_alg": "aes256-cbc", "signing_alg": "sha256", "compression": "none",
    "outgoing_encoding": "binary", "http_auth": {"type": "none"}, "rate_limit_per_second": 2.5,
    "max_concurrency": 25, "max_attempts": None, "revision": 3,
    "signature_scheme": "rsa-pkcs1v15", "key_transport": "rsa-pkcs1v15",
    "accept_expired_mdn_certificate": False, "canonicalize_line_endings": False,
    "as2_version": "1.2",
}  # fmt: skip
TOKEN_WITH_REFRESH = {
    "type": "token", "placement": "header", "header_name": "Authorization", "scheme": "Bearer",
    "param_name": "access_token", "body_field": "access_token", "token_set": True,
    "refresh": {"uri": "/oauth/token", "method": "POST", "media_type": "application/json",
                "token_path": "access_token", "header_names": ["X-Key"],
                "refresh_token_set": True},
}  # fmt: skip


def new_form(**fields: str) -> dict[str, str]:
    """A new partner's form as a browser posts it: the defaults, the required fields."""
    return {**NEW_PARTNER, "as2_id": "ACME", "name": "Acme Corp", "as2_alias": "", "email": "",
            "as2_url": "https://acme.example/as2", "async_mdn_url": "",
            "rate_limit_per_second": "", "max_attempts": "", **fields}  # fmt: skip


def test_a_new_partner_leaves_out_what_is_empty_and_parses_numbers() -> None:
    body, mistakes = partner_body(new_form(max_attempts="7", rate_limit_per_second="0.5"), None)
    assert mistakes == {}
    assert body == {
        "as2_id": "ACME", "name": "Acme Corp", "as2_url": "https://acme.example/as2",
        "enabled": True, "signing_alg": "sha256", "encryption_alg": "aes256-cbc",
        "mdn_signing_alg": "sha256", "compression": "none", "outgoing_encoding": "binary",
        "mdn_mode": "sync", "mdn_signature": "required", "rate_limit_per_second": 0.5,
        "max_concurrency": 25, "max_attempts": 7, "http_auth": {"type": "none"},
        "signature_scheme": "rsa-pkcs1v15", "key_transport": "rsa-pkcs1v15",
        "accept_expired_mdn_certificate": False, "canonicalize_line_endings": False,
        "replay_protection": True, "as2_version": "1.2",
        "tls": PartnerTls().model_dump(),  # the contract's defaults
    }  # fmt: skip


def test_no_algorithm_is_null_and_a_number_that_is_not_one_goes_to_the_api_as_typed() -> None:
    body, _ = partner_body(new_form(signing_alg="none", max_concurrency="lots", enabled="off"),
                           None)  # fmt: skip
    assert body["signing_alg"] is None
    assert body["max_concurrency"] == "lots"  # the API's refusal names the field
    assert body["enabled"] is False


def test_modern_algorithms_and_the_expired_mdn_option_reach_the_api_and_come_back() -> None:
    form = new_form(signature_scheme="rsassa-pss", key_transport="rsa-oaep-sha256",
                    encryption_alg="aes256-gcm", accept_expired_mdn_certificate="on")  # fmt: skip
    body, _ = partner_body(form, None)
    assert (body["signature_scheme"], body["key_transport"], body["encryption_alg"]) == (
        "rsassa-pss", "rsa-oaep-sha256", "aes256-gcm")  # fmt: skip
    assert body["accept_expired_mdn_certificate"] is True
    stored = {**STORED, **body}
    values = partner_values(stored)
    assert values["accept_expired_mdn_certificate"] == "on"
    assert values["key_transport"] == "rsa-oaep-sha256"
    changes, _ = partner_body({**values, "accept_expired_mdn_certificate": "off"}, stored)
    assert changes == {"accept_expired_mdn_certificate": False}


def test_line_endings_and_the_as2_version_reach_the_api_and_come_back() -> None:
    body, _ = partner_body(new_form(canonicalize_line_endings="on", as2_version="1.0"), None)
    assert (body["canonicalize_line_endings"], body["as2_version"]) == (True, "1.0")
    stored = {**STORED, **body}
    values = partner_values(stored)
    assert (values["canonicalize_line_endings"], values["as2_version"]) == ("on", "1.0")
    changes, _ = partner_body({**values, "canonicalize_line_endings": "off"}, stored)
    assert changes == {"canonicalize_line_endings": False}
    changes, _ = partner_body({**values, "as2_version": "1.1"}, stored)
    assert changes == {"as2_version": "1.1"}


def test_replay_protection_is_on_for_a_new_partner_and_can_be_turned_on_for_an_old_one() -> None:
    body, _ = partner_body(new_form(replay_protection="off"), None)
    assert body["replay_protection"] is False
    # STORED is a partner from before the setting: off, and an untouched form leaves it so.
    values = partner_values(STORED)
    assert values["replay_protection"] == "off"
    assert partner_body(values, STORED)[0] == {}
    changes, _ = partner_body({**values, "replay_protection": "on"}, STORED)
    assert changes == {"replay_protection": True}


def test_required_fields_left_empty_are_sent_empty_for_the_api_to_explain() -> None:
    body, _ = partner_body(new_form(as2_id="", as2_url=""), None)
    assert (body["as2_id"], body["as2_url"]) == ("", "")


@pytest.mark.parametrize(
    ("fields", "auth"),
    [
        ({"auth_type": "basic", "auth_username": "myco", "auth_password": "s3cret"},
         {"type": "basic", "username": "myco", "password": "s3cret"}),
        ({"auth_type": "basic", "auth_username": "myco", "auth_password": ""},
         {"type": "basic", "username": "myco"}),
        ({"auth_type": "token-header", "token": "t0k", "token_scheme": ""},
         {"type": "token", "placement": "header", "header_name": "Authorization", "scheme": "",
          "token": "t0k", "refresh": None}),
        ({"auth_type": "token-query", "token_param_name": "key"},
         {"type": "token", "placement": "query", "param_name": "key", "refresh": None}),
        ({"auth_type": "token-body", "token_body_field": "jwt", "token": "t0k"},
         {"type": "token", "placement": "body", "body_field": "jwt", "token": "t0k",
          "refresh": None}),
        ({"auth_type": "token-header", "refresh": "on", "refresh_uri": "/oauth/token",
          "refresh_token": "r3fresh", "refresh_media_type": "", "refresh_headers":
          "X-Key: k1\n\n  X-Tenant : acme  "},
         {"type": "token", "placement": "header", "header_name": "Authorization",
          "scheme": "Bearer", "refresh": {"uri": "/oauth/token", "method": "POST",
          "token_path": "access_token", "refresh_token": "r3fresh",
          "headers": {"X-Key": "k1", "X-Tenant": "acme"}}}),
    ],
)  # fmt: skip
def test_each_authentication_is_built_as_the_api_takes_it(
    fields: dict[str, str], auth: dict[str, Any]
) -> None:
    body, mistakes = partner_body(new_form(**fields), None)
    assert mistakes == {}
    assert body["http_auth"] == auth


def test_refresh_headers_that_are_not_name_value_are_refused_before_the_api() -> None:
    _, mistakes = partner_body(
        new_form(auth_type="token-header", refresh="on", refresh_headers="just a value"), None
    )
    assert mistakes == {"refresh_headers": "write one header a line, as Name: value"}


@pytest.mark.parametrize(
    "auth",
    [
        {"type": "none"},
        {"type": "basic", "username": "myco", "password_set": True},
        {**TOKEN_WITH_REFRESH, "placement": "query", "param_name": "key"},
        TOKEN_WITH_REFRESH,
    ],
)
def test_a_stored_partner_posted_back_untouched_changes_nothing(auth: dict[str, Any]) -> None:
    stored = {**STORED, "http_auth": auth}
    values = partner_values(stored)
    assert not any(name in values for name in ("auth_password", "token", "refresh_token"))
    assert partner_body({**values, "refresh_headers": ""}, stored) == ({}, {})


def test_an_update_sends_changes_only_clears_what_was_emptied_and_keeps_secrets() -> None:
    stored = {**STORED, "email": "as2@acme.example", "max_attempts": 5,
              "default_subject": "EDI from MyCo",
              "http_auth": {"type": "basic", "username": "myco", "password_set": True}}  # fmt: skip
    assert partner_values(stored)["default_subject"] == "EDI from MyCo"
    form = {**partner_values(stored), "email": "", "max_attempts": "", "rate_limit_per_second": "",
            "max_concurrency": "", "as2_alias": "", "auth_password": "",
            "default_subject": ""}  # fmt: skip
    body, _ = partner_body(form, stored)
    # Emptied: e-mail, default subject and limits cleared; the alias and concurrency (never
    # null) kept.
    assert body == {"email": None, "default_subject": None, "max_attempts": None,
                    "rate_limit_per_second": None}  # fmt: skip
    changed, _ = partner_body({**form, "default_subject": "Orders 2027"}, stored)
    assert changed["default_subject"] == "Orders 2027"
    body, _ = partner_body({**form, "auth_password": "new-one"}, stored)
    assert body["http_auth"] == {"type": "basic", "username": "myco", "password": "new-one"}
    body, _ = partner_body({**form, "auth_type": "none"}, stored)
    assert body["http_auth"] == {"type": "none"}


def test_changing_a_token_setting_sends_the_authentication_without_the_secrets() -> None:
    stored = {**STORED, "http_auth": TOKEN_WITH_REFRESH}
    body, _ = partner_body({**partner_values(stored), "token_scheme": "Token"}, stored)
    assert body == {"http_auth": {"type": "token", "placement": "header",
                    "header_name": "Authorization", "scheme": "Token",
                    "refresh": {"uri": "/oauth/token", "method": "POST",
                                "media_type": "application/json",
                                "token_path": "access_token"}}}  # fmt: skip


def test_stored_secrets_are_only_said_to_be_set() -> None:
    assert stored_secrets({"http_auth": TOKEN_WITH_REFRESH}) == {
        "token": "set", "refresh_token": "set", "refresh_headers": "X-Key"}  # fmt: skip
    assert stored_secrets({"http_auth": {"type": "basic", "password_set": False}}) == {}
    assert typed_back({"name": "x", "auth_password": "p", "token": "t", "refresh_headers": "h",
                       "refresh_token": "r"}) == {"name": "x"}  # fmt: skip


@pytest.mark.parametrize(
    ("api", "form"),
    [
        ("as2_id", "as2_id"),
        ("http_auth.basic.username", "auth_username"),
        ("http_auth.password", "auth_password"),
        ("http_auth.token", "token"),
        ("http_auth.token.header_name", "token_header_name"),
        ("http_auth.param_name", "token_param_name"),
        ("http_auth.token.refresh.uri", "refresh_uri"),
        ("http_auth.refresh.refresh_token", "refresh_token"),
        ("http_auth.token.refresh.headers.X-Key", "refresh_headers"),
        ("http_auth.token.placement", "auth_type"),
        ("http_auth", "auth_type"),
    ],
)
def test_api_refusals_find_their_form_field(api: str, form: str) -> None:
    assert form_field(api) == form


def test_refusals_of_no_field_go_on_top_in_words() -> None:
    by_field, on_top = partner_errors({
        "as2_alias": "String should match pattern '^[A-Za-z0-9._@-]{1,128}$'",
        "auth_failure.path": "bad", "": "partner 1 not found",
    })  # fmt: skip
    assert by_field == {
        "as2_alias": "use 1 to 128 letters, digits and . _ @ - (no spaces), e.g. myco"
    }
    assert on_top == ["auth_failure.path: bad", "partner 1 not found"]
    assert (
        sentence("Value error, must be 1 to 128 characters long")
        == "must be 1 to 128 characters long"
    )
    assert place_errors({"email": "x"}, ("as2_id",)) == ({}, ["email: x"])


def test_station_bodies() -> None:
    form = {"as2_id": "MYCO", "name": "My Co", "private_key_alias": "", "email": ""}
    assert station_body(form, None) == {"as2_id": "MYCO", "name": "My Co"}
    stored = {"as2_id": "MYCO", "name": "My Co", "private_key_alias": "myco", "email": "a@b.c"}
    assert station_body(form, stored) == {"email": None}  # the alias is kept, the e-mail cleared
    assert station_body({**form, "email": "a@b.c", "private_key_alias": "myco"}, stored) == {}


def test_the_certificate_in_use_and_the_keystore_of_a_pair() -> None:
    older = {"state": "active", "activation_at": "2025-01-01T00:00:00Z", "alias": "old"}
    newer = {"state": "active", "activation_at": "2026-01-01T00:00:00Z", "alias": "new"}
    pending = {"state": "pending", "activation_at": "2027-01-01T00:00:00Z", "alias": "next"}
    assert certificate_in_use([older, pending, newer]) == newer
    assert certificate_in_use([pending, {"state": "expired"}]) == pending
    assert certificate_in_use([{"state": "retired"}]) is None
    stores = [{"station_as2_id": "MYCO", "partner_as2_id": "ACME", "id": "k1"},
              {"station_as2_id": "MYCO", "partner_as2_id": "GLOBEX", "id": "k2"}]  # fmt: skip
    assert keystore_of(stores, "MYCO", "GLOBEX") == stores[1]
    assert keystore_of(stores, "ACME", "MYCO") is None


def test_messages_in_flight_say_how_many() -> None:
    assert in_flight_refusal({"items": [], "next_cursor": None}) is None
    one = in_flight_refusal({"items": [{}], "next_cursor": None})
    assert str(one).startswith("1 message is still in flight")
    many = in_flight_refusal({"items": [{}] * 100, "next_cursor": "c"})
    assert str(many).startswith("more than 100 messages are still in flight")


def test_async_mdn_networks_are_one_a_line_and_only_a_change_is_sent() -> None:
    typed = " 10.20.0.0/16\n\nfd12::/16 \n"
    body, mistakes = partner_body(new_form(async_mdn_networks=typed), None)
    assert mistakes == {}
    assert body["async_mdn_networks"] == ["10.20.0.0/16", "fd12::/16"]
    assert "async_mdn_networks" not in partner_body(new_form(), None)[0]  # none: left out
    assert NEW_PARTNER["async_mdn_networks"] == ""

    stored = {**STORED, "async_mdn_networks": ["10.20.0.0/16", "fd12::/16"]}
    shown = partner_values(stored)
    assert shown["async_mdn_networks"] == "10.20.0.0/16\nfd12::/16"
    assert partner_body({**shown, "refresh_headers": ""}, stored) == ({}, {})
    emptied, _ = partner_body({**shown, "async_mdn_networks": ""}, stored)
    assert emptied == {"async_mdn_networks": []}
    # A partner stored before the setting has none: its untouched form sends nothing.
    assert partner_body({**partner_values(STORED), "refresh_headers": ""}, STORED) == ({}, {})
    # The API's refusal names the network; it belongs to the text area.
    assert form_field("async_mdn_networks.1") == "async_mdn_networks"
