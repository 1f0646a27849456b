"""A failed or refused message's page says what to do from what is known of it: which AS2 ID
of a refusal we do not have (config-svc now), and whether an unsigned receipt says the partner
processed the document (tracklog-svc's detail)."""

from __future__ import annotations

import html
from typing import Any

import pytest

from as2bus.console.domain.causes import PROCESSED_UNSIGNED, cause_of
from as2bus.console.domain.message_cause import message_cause
from as2bus.console.domain.party_causes import party_cause
from as2bus.shared.party_names import PartyCheck

from .conftest import client, csrf_of, fakes_of, sign_in

STATIONS, PARTNERS = ["DISTCO"], ["ACMERETAIL"]
CREATE_PARTNER = "create the partner"


def check(station: str, partner: str) -> PartyCheck:
    return PartyCheck.of(station, partner, STATIONS, PARTNERS)


@pytest.mark.parametrize(
    ("station", "partner", "said", "todo"),
    [
        ("distco", "ACMERETAIL", "(AS2-To) to 'distco', which is not one of our stations: ours "
         "is 'DISTCO'", "Ask the partner to address us exactly as 'DISTCO'; do not create a "
         "station"),
        ("NOBODY", "ACMERETAIL", "(AS2-To) to 'NOBODY', which is not one of our stations.",
         "Tell the partner our station's AS2 ID"),
        ("DISTCO", "acmeretail", "came from 'acmeretail' (AS2-From), which is not one of our "
         "partners: we have 'ACMERETAIL'", "do not create another partner"),
        ("DISTCO", "ACMERETAIL", "from our partner 'ACMERETAIL' to our station 'DISTCO', but "
         "there is no enabled partnership", "create or enable the partnership"),
    ],
)  # fmt: skip
def test_a_partner_with_a_wrong_as2_id_is_not_advised_to_be_created(
    station: str, partner: str, said: str, todo: str
) -> None:
    cause = party_cause("unknown-trading-partner", check(station, partner))
    assert said in cause.what
    assert todo in cause.todo
    assert CREATE_PARTNER not in cause.todo


def test_only_a_partner_we_do_not_know_at_all_is_one_to_create() -> None:
    cause = party_cause("unknown-trading-partner", check("DISTCO", "GLOBEX"))
    assert (
        cause.what == "The message came from 'GLOBEX' (AS2-From), which is not one of our partners."
    )
    assert cause.todo == (
        "If it is a new partner, create the partner and the partnership. Then ask the partner "
        "to send it again."
    )


@pytest.mark.parametrize(
    ("station", "partner", "todo"),
    [
        ("DISTCO", "acmeretail", "Send it to 'ACMERETAIL'; do not create another partner. Then "
         "send the file again."),
        ("distco", "ACMERETAIL", "Send it from 'DISTCO'; do not create a station for it. Then "
         "send the file again."),
        ("DISTCO", "ACMERETAIL", "Create or enable the partnership (PartnerShip page) and the "
         "partner, then send the file again."),
    ],
)  # fmt: skip
def test_a_send_to_a_partner_in_the_wrong_case_says_the_one_meant(
    station: str, partner: str, todo: str
) -> None:
    cause = party_cause("UNKNOWN_PARTNERSHIP", check(station, partner))
    assert cause.what.startswith(("The send request", "The gateway refused to send"))
    assert cause.todo == todo


def refused(**fields: Any) -> dict[str, Any]:
    return {"id": "m1", "direction": "inbound", "status": "rejected", "station": "distco",
            "partner": "ACMERETAIL", "error_code": "unknown-trading-partner",
            "error": "we have no station 'distco' (did you mean 'DISTCO'? AS2 IDs are "
            "case-sensitive)", "timeline": [], **fields}  # fmt: skip


def text_of(page: str) -> str:
    return html.unescape(" ".join(page.split()))


async def test_the_page_advises_from_what_config_svc_knows_of_the_as2_ids(app: Any) -> None:
    fakes = fakes_of(app).backends
    fakes.tracklog.details["m1"] = refused()
    fakes.config.listed = {"/api/v1/stations": [{"as2_id": "DISTCO"}],
                           "/api/v1/partners": [{"as2_id": "ACMERETAIL"}]}  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = text_of((await http.get("/tracklog/m1")).text)
    assert "which is not one of our stations: ours is 'DISTCO'" in page
    assert CREATE_PARTNER not in page


async def test_without_config_svc_the_page_gives_the_general_advice(app: Any) -> None:
    fakes = fakes_of(app).backends
    fakes.tracklog.details["m1"] = refused()
    fakes.config.down = True
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = text_of((await http.get("/tracklog/m1")).text)
    assert cause_of("unknown-trading-partner").todo in page
    assert CREATE_PARTNER not in page


def unsigned_mdn_failure(**fields: Any) -> dict[str, Any]:
    return {"id": "m1", "direction": "outbound", "status": "failed", "filename": "order.x12",
            "station": "DISTCO", "partner": "ACMERETAIL", "message_id": "<1@distco>",
            "error_code": "mdn-unsigned", "mdn_disposition": "processed", "mic_matches": True,
            "error": "the MDN is not signed, though our request required a signed MDN",
            "timeline": [], **fields}  # fmt: skip


def test_an_unsigned_receipt_saying_processed_with_our_mic_says_do_not_resend() -> None:
    assert message_cause(unsigned_mdn_failure()) is PROCESSED_UNSIGNED
    assert "do not resend" in PROCESSED_UNSIGNED.todo.lower()
    assert "most likely has the document" in PROCESSED_UNSIGNED.what


@pytest.mark.parametrize(
    "fields",
    [{"mic_matches": None}, {"mic_matches": False}, {"mdn_disposition": "failed"}],
    ids=["MIC not compared", "another MIC", "not processed"],
)
def test_an_unsigned_receipt_that_does_not_prove_processing_keeps_the_plain_advice(
    fields: dict[str, Any],
) -> None:
    assert message_cause(unsigned_mdn_failure(**fields)) == cause_of("mdn-unsigned")


async def test_the_resend_confirmation_warns_that_the_partner_reported_it_processed(
    app: Any,
) -> None:
    tracklog = fakes_of(app).backends.tracklog
    tracklog.details["m1"] = unsigned_mdn_failure()
    tracklog.details["m2"] = unsigned_mdn_failure(id="m2", mic_matches=None)
    async with client(app) as http:
        await sign_in(http, "admin@example.com")
        page = text_of((await http.get("/tracklog/m1")).text)
        warned = text_of((await http.get("/tracklog/m1/resend")).text)
        plain = text_of((await http.get("/tracklog/m2/resend")).text)
    assert PROCESSED_UNSIGNED.todo in page
    assert "The partner reports it processed this document" in warned
    assert "Resending would most likely give it the document twice" in warned
    assert csrf_of(warned)  # still possible, on purpose: the partner may say it has not
    assert "reports it processed" not in plain
