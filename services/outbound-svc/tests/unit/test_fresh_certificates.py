"""A certificate stored a moment ago: the key cache has not seen its event yet, so the sender
asks cert-svc once more before it fails the message for a missing certificate (fakes of our
own ports; the real client's refresh is tested against cert-svc in tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from as2bus.outbound.parties import resolve_sides
from as2bus.shared.keyring import CertificateUnavailableError, KeyRing
from as2bus.testing.config_states import partner_state, station_state
from as2bus.testing.key_material import StaleKeys, certificate_entry

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def config() -> Any:
    station, partner = station_state("MYCO"), partner_state("acme")
    link = SimpleNamespace(station_id=station.id, partner_id=partner.id, enabled=True)
    return SimpleNamespace(
        find_partnership=lambda s, p: link,
        stations={station.id: station},
        partners={partner.id: partner},
    )


async def resolve(keys: StaleKeys) -> Any:
    return await resolve_sides(config(), keys, "MYCO", "acme", None,
                               async_mdn_url=None, at=NOW)  # fmt: skip


async def test_a_missing_partner_certificate_is_asked_for_once_more() -> None:
    ours = certificate_entry("myco", "own", NOW)
    theirs = certificate_entry("acme", "partner", NOW)
    keys = StaleKeys(KeyRing([ours], []), KeyRing([ours, theirs], []))
    sides = await resolve(keys)
    assert sides.remote.encrypt_cert == theirs.cert_pem.encode()
    assert keys.asked_fresh == 1


async def test_a_certificate_really_missing_still_fails_with_its_reason() -> None:
    ours = certificate_entry("myco", "own", NOW)
    keys = StaleKeys(KeyRing([ours], []), KeyRing([ours], []))
    with pytest.raises(CertificateUnavailableError, match="CERT_NOT_FOUND"):
        await resolve(keys)
    assert keys.asked_fresh == 1


async def test_a_partnership_never_given_a_key_says_to_create_its_keystore() -> None:
    theirs = certificate_entry("acme", "partner", NOW)
    keys = StaleKeys(KeyRing([theirs], []), KeyRing([theirs], []))
    with pytest.raises(CertificateUnavailableError) as err:
        await resolve(keys)
    assert err.value.reason == "CERT_NOT_FOUND"
    assert err.value.sentence == (
        "MYCO -> acme has no key of ours yet: create its keystore (as2bus keystore create "
        "--station MYCO --partner acme, or in the console: the PartnerShip's \"Create its "
        'certificates")'
    )


async def test_a_partner_certificate_switching_in_before_the_answer_verifies_its_mdn() -> None:
    """A message sent a second before the partner's switch to a new certificate gets its sync
    MDN signed after it, with the new key (the console's rotation test lost a message to this
    under load): the certificates the MDN is verified with include the coming one."""
    ours = certificate_entry("myco", "own", NOW)
    old = certificate_entry("acme", "partner", NOW)
    new = certificate_entry("acme", "partner", NOW).model_copy(
        update={"activation_at": NOW + timedelta(seconds=1), "fingerprint_sha256": "new"}
    )
    later = certificate_entry("acme", "partner", NOW).model_copy(
        update={"activation_at": NOW + timedelta(days=2), "fingerprint_sha256": "later"}
    )
    ring = KeyRing([ours, old, new, later], [])
    sides = await resolve(StaleKeys(ring, ring))
    assert sides.remote.encrypt_cert == old.cert_pem.encode()  # still the old one, until then
    assert set(sides.remote.verify_certs) == {old.cert_pem.encode(), new.cert_pem.encode()}
