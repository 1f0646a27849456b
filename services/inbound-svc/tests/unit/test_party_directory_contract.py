"""The party directory's contract, held by the fake the receive tests use
(``tests/fakes.FakePartyDirectory``) and by the real ``PartyResolver`` over a config replica
and a key cache holding one partnership: what the receiver reads from it (who is known, the
reason given for who is not, whose key signs a refusal) must not differ between the two."""

from __future__ import annotations

import functools

import pytest

from as2bus import as2
from as2bus.inbound.domain import NoPartnershipError
from as2bus.inbound.parties import PartyResolver
from as2bus.inbound.ports import PartyDirectory
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import paired_replica
from as2bus.testing.key_material import StaleKeys, certificate_entry

from ..fakes import FakePartyDirectory
from .receiving import PARTNER, STATION, partnership

PARTIES = partnership()


@functools.cache  # certificates take a while to make: once for both directories
def resolver() -> PartyResolver:
    ring = KeyRing(
        [
            certificate_entry(PARTIES.station.private_key_alias, "own"),
            certificate_entry(PARTIES.partner.as2_alias, "partner"),
        ]
    )
    replica = paired_replica(PARTIES.station, PARTIES.partner)
    return PartyResolver(replica, StaleKeys(ring, ring))  # type: ignore[arg-type]


@pytest.fixture(params=["fake", "resolver"], ids=["fake", "resolver"])
def directory(request: pytest.FixtureRequest) -> PartyDirectory:
    return FakePartyDirectory(PARTIES) if request.param == "fake" else resolver()


async def test_a_partnership_resolves_to_its_station_and_partner(directory: PartyDirectory) -> None:
    parties = await directory.resolve(PARTNER, STATION)
    assert (parties.station, parties.partner) == (PARTIES.station, PARTIES.partner)
    assert (parties.local.as2_id, parties.remote.as2_id) == (STATION, PARTNER)
    assert parties.local.signing is not None
    assert len(parties.remote.verify_certs) == 1


@pytest.mark.parametrize(
    ("as2_from", "as2_to"), [("EVIL", STATION), (PARTNER, "NOBODY")], ids=["partner", "station"]
)
async def test_no_partnership_is_refused_saying_between_whom(
    directory: PartyDirectory, as2_from: str, as2_to: str
) -> None:
    expected = f"no partnership between station {as2_to!r} and partner {as2_from!r}"
    with pytest.raises(as2.UnknownPartyError) as refused:
        await directory.resolve(as2_from, as2_to)
    assert (refused.value.modifier, refused.value.reason) == ("unknown-trading-partner", expected)


@pytest.mark.parametrize(
    ("as2_from", "as2_to", "diagnosis"),
    [
        ("EVIL", STATION, "we have no partner 'EVIL'"),
        (PARTNER, "NOBODY", "we have no station 'NOBODY'"),
        ("EVIL", "NOBODY", "we have no station 'NOBODY' and no partner 'EVIL'"),
        (PARTNER.lower(), STATION, "we have no partner 'acme' (did you mean 'ACME'? AS2 IDs "
         "are case-sensitive)"),
        (PARTNER, STATION.lower(), "we have no station 'myco' (did you mean 'MYCO'? AS2 IDs "
         "are case-sensitive)"),
    ],
)  # fmt: skip
async def test_our_operators_are_told_which_as2_id_we_do_not_know(
    directory: PartyDirectory, as2_from: str, as2_to: str, diagnosis: str
) -> None:
    with pytest.raises(NoPartnershipError) as refused:
        await directory.resolve(as2_from, as2_to)
    assert refused.value.diagnosis == diagnosis


async def test_partners_are_found_by_as2_id_only_when_known(directory: PartyDirectory) -> None:
    assert directory.partner_by_as2_id(PARTNER) == PARTIES.partner
    assert directory.partner_by_as2_id("EVIL") is None
    assert len(await directory.mdn_verify_certs(PARTIES.partner)) == 1
    assert list(directory.partners()) == [PARTIES.partner]  # whose TLS client certificate?


def test_stations_are_found_by_as2_id_only_when_ours(directory: PartyDirectory) -> None:
    assert directory.station_by_as2_id(STATION) == PARTIES.station
    assert directory.station_by_as2_id(PARTNER) is None  # a partner is none of our stations
    assert directory.station_by_as2_id("NOBODY") is None


async def test_a_refusal_is_signed_by_the_station_addressed_if_we_have_it(
    directory: PartyDirectory,
) -> None:
    signer = await directory.signer_for(STATION, "EVIL")
    assert signer is not None
    assert (signer.as2_id, signer.signing is not None) == (STATION, True)
    assert await directory.signer_for("NOBODY", PARTNER) is None
    assert await directory.signer_for(None) is None
