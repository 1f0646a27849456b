"""A partner certificate or a key of ours stored a moment ago: inbound-svc's key cache asks
cert-svc once more before a message is refused for it (fakes of our own ports; the real
client's refresh is tested against cert-svc in tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from as2bus.inbound.parties import PartyResolver
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import partner_state, station_state
from as2bus.testing.key_material import StaleKeys, certificate_entry

NOW = datetime.now(UTC)


def config() -> Any:
    station, partner = station_state("MYCO"), partner_state("acme")
    link = SimpleNamespace(station_id=station.id, partner_id=partner.id, enabled=True)
    return SimpleNamespace(
        find_partnership=lambda to, from_: link,
        stations={station.id: station},
        partners={partner.id: partner},
    )


async def test_a_certificate_missing_from_the_cache_is_asked_for_once_more() -> None:
    ours, theirs = certificate_entry("myco", "own"), certificate_entry("acme", "partner")
    keys = StaleKeys(KeyRing([ours], []), KeyRing([ours, theirs], []))
    parties = await PartyResolver(config(), keys).resolve("acme", "MYCO")  # type: ignore[arg-type]
    assert parties.remote.verify_certs == [theirs.cert_pem.encode()]
    assert keys.asked_fresh == 1


async def test_with_everything_in_the_cache_cert_svc_is_not_asked_again() -> None:
    ours, theirs = certificate_entry("myco", "own"), certificate_entry("acme", "partner")
    ring = KeyRing([ours, theirs], [])
    keys = StaleKeys(ring, ring)
    parties = await PartyResolver(config(), keys).resolve("acme", "MYCO")  # type: ignore[arg-type]
    assert len(parties.local.decryption) == 1
    assert keys.asked_fresh == 0
