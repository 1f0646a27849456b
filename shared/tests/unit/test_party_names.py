"""Which AS2 ID of a station-partner pair is unknown, in one sentence (``PartyCheck``)."""

from __future__ import annotations

import pytest

from as2bus.shared.party_names import PartyCheck, same_but_case

STATIONS, PARTNERS = ["DISTCO"], ["ACMERETAIL", "Globex"]


@pytest.mark.parametrize(
    ("station", "partner", "reason"),
    [
        ("DISTCO", "ACMERETAIL", "no partnership between station 'DISTCO' and partner "
         "'ACMERETAIL'"),
        ("NOBODY", "ACMERETAIL", "we have no station 'NOBODY'"),
        ("distco", "ACMERETAIL", "we have no station 'distco' (did you mean 'DISTCO'? AS2 IDs "
         "are case-sensitive)"),
        ("DISTCO", "acmeretail", "we have no partner 'acmeretail' (did you mean 'ACMERETAIL'? "
         "AS2 IDs are case-sensitive)"),
        ("NOBODY", "globex", "we have no station 'NOBODY' and no partner 'globex' (did you "
         "mean 'Globex'? AS2 IDs are case-sensitive)"),
    ],
)  # fmt: skip
def test_the_reason_names_what_we_do_not_know_and_what_was_meant(
    station: str, partner: str, reason: str
) -> None:
    assert PartyCheck.of(station, partner, STATIONS, PARTNERS).reason() == reason


def test_what_is_known_is_told_apart_for_advice() -> None:
    wrong_case = PartyCheck.of("distco", "ACMERETAIL", iter(STATIONS), iter(PARTNERS))
    assert (wrong_case.station_known, wrong_case.partner_known) == (False, True)
    assert (wrong_case.station_twin, wrong_case.partner_twin) == ("DISTCO", None)
    assert PartyCheck.of("DISTCO", "ACMERETAIL", STATIONS, PARTNERS).both_known


def test_only_another_case_is_a_twin() -> None:
    assert same_but_case("acme", ["ACME", "acme"]) == "ACME"
    assert same_but_case("ACME", ["ACME"]) is None
    assert same_but_case("ACME2", ["ACME"]) is None
