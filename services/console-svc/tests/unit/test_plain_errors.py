"""The other services refuse a form with pydantic's words ("String should have at least 1
character", "Input should be a valid URL, input is empty"); the console says them as sentences
naming the field by its form label ("Partner Name is required"), on every form that posts to a
service, and pydantic's own wording never reaches the person at the form."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from as2bus.console.adapters.backends import Backend, Change
from as2bus.console.domain.certificate_forms import problems
from as2bus.console.domain.config_forms import (
    PARTNERSHIP_LABELS,
    STATION_FIELDS,
    STATION_LABELS,
    place_errors,
    sentence,
)
from as2bus.console.domain.notification_form import channel_errors, rule_errors
from as2bus.console.domain.partner_form import partner_errors
from as2bus.console.keystore_creation import GENERATE_FIELDS
from as2bus.console.wiring import wiring

from .conftest import client, csrf_of, sign_in
from .test_config_pages import ConfigBackends, error_of
from .test_notification_pages import NotifyBackends, webhook

RAW = ("should", "Input ", "String ", "URL scheme")


def plain(said: Any) -> None:
    for raw in RAW:
        assert raw not in str(said)


@pytest.mark.parametrize(
    ("message", "said"),
    [
        # What the reviewer was shown on the Partner and rule forms.
        ("String should have at least 1 character", "Partner Name is required"),
        ("Input should be a valid URL, input is empty", "Partner Name is required"),
        ("URL scheme should be 'http' or 'https'",
         "Partner Name must be an http:// or https:// address"),
        ("Input should be greater than or equal to 1", "Partner Name must be 1 or more"),
        ("Input should be greater than 0", "Partner Name must be more than 0"),
        ("String should have at most 200 characters",
         "Partner Name must be at most 200 characters long"),
        ("URL should have at most 2083 characters",
         "Partner Name must be at most 2083 characters long"),
        ("Input should be greater than or equal to 0.01", "Partner Name must be 0.01 or more"),
        # And the rest of pydantic's constraints the services' schemas use.
        ("Field required", "Partner Name is required"),
        ("String should have at least 3 characters",
         "Partner Name must have at least 3 characters"),
        ("Input should be less than or equal to 100", "Partner Name must be 100 or less"),
        ("Input should be less than 5", "Partner Name must be less than 5"),
        ("Input should be a valid URL, relative URL without a base",
         "Partner Name must be a full address, e.g. https://host.example/path"),
        ("Input should be a valid integer, unable to parse string as an integer",
         "Partner Name must be a whole number"),
        ("Input should be a valid integer, got a number with a fractional part",
         "Partner Name must be a whole number"),
        ("Input should be a valid number, unable to parse string as a number",
         "Partner Name must be a number"),
        ("Input should be a valid boolean, unable to interpret input",
         "Partner Name must be yes or no"),
        ("Input should be 'sync', 'async' or 'none'",
         "Partner Name must be one of sync, async or none"),
        ("List should have at least 1 item after validation, not 0", "Partner Name is required"),
        ("List should have at most 50 items after validation, not 51",
         "Partner Name must have at most 50 entries"),
        ("Input should be a valid UUID, invalid character: found `x` at 0",
         "Partner Name must be one of those offered"),
        ("Input should be a valid datetime or date, input is too short",
         "Partner Name must be a date and time"),
        ("Input should be a valid dictionary", "Partner Name is not a value it takes"),
        # Several refusals of one field, as the adapter joins them.
        ("Input should be greater than 0; Input should be greater than 0",
         "Partner Name must be more than 0"),
    ],
)  # fmt: skip
def test_pydantics_words_become_a_sentence_naming_the_field(message: str, said: str) -> None:
    assert sentence(message, "Partner Name") == said


def test_a_services_own_sentences_stay_as_they_are() -> None:
    assert sentence("Value error, must be 1 to 128 characters long") == (
        "must be 1 to 128 characters long"
    )
    assert sentence("partner 1 not found", "Partner Name") == "partner 1 not found"


def test_every_form_names_its_fields_by_their_labels() -> None:
    by_field, on_top = partner_errors({
        "name": "String should have at least 1 character",
        "as2_url": "Input should be a valid URL, input is empty",
        "max_attempts": "Input should be greater than or equal to 1",
        "rate_limit_per_second": "Input should be greater than 0",
        "http_auth.basic.username": "String should have at most 256 characters",
        "tls.pinned_sha256.0": "String should match pattern '^[0-9a-f]{64}$'",
    })  # fmt: skip
    assert by_field == {
        "name": "Partner Name is required",
        "as2_url": "Partner URL is required",
        "max_attempts": "Max attempts must be 1 or more",
        "rate_limit_per_second": "Rate limit (messages per second) must be more than 0",
        "auth_username": "User name must be at most 256 characters long",
        "tls_pinned_sha256": "pin 1: must be a SHA-256 in hex (64 digits 0-9 and a-f)",
    }
    assert on_top == []
    station, _ = place_errors({"name": "String should have at most 200 characters"},
                              STATION_FIELDS, labels=STATION_LABELS)  # fmt: skip
    assert station == {"name": "Name must be at most 200 characters long"}
    paired, _ = place_errors({"partner_id": "Input should be a valid UUID, invalid length"},
                             PARTNERSHIP_LABELS, labels=PARTNERSHIP_LABELS)  # fmt: skip
    assert paired == {"partner_id": "Partner must be one of those offered"}
    channel, _ = channel_errors({
        "target.webhook.url": "URL scheme should be 'http' or 'https'",
        "target.email.port": "Input should be less than or equal to 65535",
        "target.email.recipients": "List should have at least 1 item after validation, not 0",
        "name": "String should match pattern '^[^\\x00-\\x1f]+$'",
    })  # fmt: skip
    assert channel == {
        "url": "URL must be an http:// or https:// address",
        "port": "Port must be 65535 or less",
        "recipients": "To is required",
        "name": "must be one line, without control characters",
    }
    rule, _ = rule_errors({
        "repeat_minutes": "Input should be greater than or equal to 0.01",
        "minutes": "Input should be less than or equal to 10080",
    })  # fmt: skip
    assert rule == {
        "repeat_minutes": "Summary at most every (minutes) must be 0.01 or more",
        "minutes": "After (minutes) must be 10080 or less",
    }
    keystore = problems("generate", {
        "validity_days": "Input should be less than or equal to 3650",
        "retire_previous_at": "Input should be a valid datetime, invalid character in year",
        "common_name": "String should have at most 64 characters",
    }, (*GENERATE_FIELDS, "validity_days", "overlap_days"))  # fmt: skip
    assert keystore.errors == {
        "validity_days": "Valid for (days) must be 3650 or less",
        "overlap_days": "Overlap window must be a date and time",
        "": "common_name must be at most 64 characters long",
    }
    for said in (by_field, station, paired, channel, rule, keystore.errors):
        plain(said)


async def refused(*detail: tuple[str, str]) -> Change:
    """config-svc's 422 as the console's adapter reads it: FastAPI's body of pydantic errors."""
    body = {"detail": [{"type": "x", "loc": ["body", *loc.split(".")], "msg": msg}
                       for loc, msg in detail]}  # fmt: skip
    transport = httpx.MockTransport(lambda request: httpx.Response(422, json=body))
    async with httpx.AsyncClient(transport=transport, base_url="http://config") as http:
        return await Backend("config-svc", http).change("POST", "/api/v1/x", actor="a@b.c")


async def test_the_partner_form_says_the_reviewers_refusals_plainly(app: Any) -> None:
    backends = ConfigBackends()
    wiring.replace(app, backends=backends)
    backends.config.refuse_next = await refused(
        ("name", "String should have at least 1 character"),
        ("as2_url", "Input should be a valid URL, input is empty"),
        ("max_attempts", "Input should be greater than or equal to 1"),
        ("rate_limit_per_second", "Input should be greater than 0"),
    )
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        form = await http.get("/partners/new")
        answer = await http.post("/partners", data={
            "csrf": csrf_of(form.text), "as2_id": "ACME", "name": "", "as2_url": "",
            "max_attempts": "-3", "rate_limit_per_second": "0",
        })  # fmt: skip
    assert answer.status_code == 422
    assert error_of(answer.text, "name") == "Partner Name is required"
    assert error_of(answer.text, "as2_url") == "Partner URL is required"
    assert error_of(answer.text, "max_attempts") == "Max attempts must be 1 or more"
    assert error_of(answer.text, "rate_limit_per_second") == (
        "Rate limit (messages per second) must be more than 0"
    )
    for raw in ("String should", "Input should"):
        assert raw not in answer.text


async def test_the_rule_form_says_its_refusal_plainly(app: Any) -> None:
    backends = NotifyBackends()
    wiring.replace(app, backends=backends)
    hook = webhook(backends)
    backends.config.refuse_next = await refused(
        ("repeat_minutes", "Input should be greater than or equal to 0.01"),
    )
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        form = await http.get("/notifications/rules/new")
        answer = await http.post("/notifications/rules", data={
            "csrf": csrf_of(form.text), "name": "down", "kind": "partner-unreachable",
            "minutes": "", "repeat_minutes": "0", "enabled": "on", "channel_ids": [hook["id"]],
        })  # fmt: skip
    assert answer.status_code == 422
    assert error_of(answer.text, "repeat_minutes") == (
        "Summary at most every (minutes) must be 0.01 or more"
    )
    assert "Input should" not in answer.text
