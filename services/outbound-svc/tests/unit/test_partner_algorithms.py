"""A partner's algorithm settings reach the codec's RemoteParty as they were set (fakes of our
own ports: the key cache holds one certificate of each side)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from as2bus.as2.algorithms import EncryptionAlg, KeyTransport, SignatureScheme
from as2bus.outbound.parties import resolve_sides
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import partner_state, station_state
from as2bus.testing.key_material import StaleKeys, certificate_entry

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


async def remote_for(**settings: Any) -> Any:
    station, partner = station_state("MYCO"), partner_state("acme", **settings)
    link = SimpleNamespace(station_id=station.id, partner_id=partner.id, enabled=True)
    config = SimpleNamespace(
        find_partnership=lambda s, p: link,
        stations={station.id: station},
        partners={partner.id: partner},
    )
    ring = KeyRing(
        [certificate_entry("myco", "own", NOW), certificate_entry("acme", "partner", NOW)], []
    )
    sides = await resolve_sides(config, StaleKeys(ring, ring), "MYCO", "acme", None,  # type: ignore[arg-type]
                                async_mdn_url=None, at=NOW)  # fmt: skip
    return sides.remote


async def test_pss_oaep_and_gcm_are_what_the_codec_is_told() -> None:
    remote = await remote_for(
        signature_scheme="rsassa-pss", key_transport="rsa-oaep-sha256", encryption_alg="aes256-gcm"
    )
    assert remote.signature_scheme == SignatureScheme.PSS
    assert remote.key_transport == KeyTransport.RSA_OAEP_SHA256
    assert remote.encryption == EncryptionAlg.AES256_GCM


async def test_a_partner_without_the_settings_gets_the_common_choice() -> None:
    remote = await remote_for()
    assert remote.signature_scheme == SignatureScheme.PKCS1V15
    assert remote.key_transport == KeyTransport.RSA_PKCS1V15


async def test_mdns_are_verified_with_expired_certificates_too_for_the_codec_to_judge() -> None:
    """An expired partner certificate still reaches the MDN check (which names the expiry, or
    accepts it for a partner set to); nothing is encrypted with it."""
    station, partner = station_state("MYCO"), partner_state("acme", encryption_alg=None)
    link = SimpleNamespace(station_id=station.id, partner_id=partner.id, enabled=True)
    config = SimpleNamespace(
        find_partnership=lambda s, p: link,
        stations={station.id: station},
        partners={partner.id: partner},
    )
    old = certificate_entry("acme", "partner", NOW - timedelta(days=40))  # ended 10 days ago
    ring = KeyRing([certificate_entry("myco", "own", NOW), old], [])
    sides = await resolve_sides(config, StaleKeys(ring, ring), "MYCO", "acme", None,  # type: ignore[arg-type]
                                async_mdn_url=None, at=NOW)  # fmt: skip
    assert sides.remote.verify_certs == [old.cert_pem.encode()]
    assert ring.verification_certificates("acme", NOW) == []  # messages: never an expired one


async def test_line_endings_and_the_as2_version_are_what_the_codec_is_told() -> None:
    remote = await remote_for(canonicalize_line_endings=True, as2_version="1.1")
    assert (remote.canonicalize_line_endings, remote.as2_version) == (True, "1.1")
    remote = await remote_for()
    assert (remote.canonicalize_line_endings, remote.as2_version) == (False, "1.2")
