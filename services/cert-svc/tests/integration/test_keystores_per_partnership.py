"""Keystores are per partnership (issue #16, items 5 and 6): a keystore made for one
partnership never changes the key another one uses; changing a partnership's key is a rotation
with its overlap; a keystore needs a partnership. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificate

from as2bus.cert import x509
from as2bus.cert.keystores import Keystores
from as2bus.cert.schemas import GenerateOwn, KeystoreCreate, KeystoreRotate
from as2bus.shared.errors import ConflictError, InvalidFieldsError
from as2bus.shared.keyring import KeyRing
from as2bus.testing.config_states import paired_replica, partner_state, station_state

from .conftest import Clock

PASSWORD = "keystore-pass-123"


def create(station: str, partner: str, **extra: Any) -> KeystoreCreate:
    return KeystoreCreate.model_validate(
        {"station": station, "partner": partner, "password": PASSWORD, **extra}
    )


async def keys_of(stores: Keystores, partner: str) -> tuple[str, list[str]]:
    """What inbound and outbound pick for MYCO:<partner> now: (signing key id, decryption ids)."""
    material = await stores.certs.key_material(None)
    ring = KeyRing(material.entries, material.partnership_keys)
    alias = ring.own_alias("MYCO", partner, "myco")  # "myco": station MYCO's key alias
    now = stores.certs.clock()
    decryption = [str(e.id) for e in ring.decryption_keys(alias, now)]
    return str(ring.signing_key(alias, now).id), decryption


async def test_a_keystore_for_partner_b_leaves_partner_a_its_key(
    two_partnerships: Keystores,
) -> None:
    stores = two_partnerships
    store_a = await stores.create(create("MYCO", "A"))
    before = await keys_of(stores, "A")
    assert before == (str(store_a.own_certificates[0].id), [str(store_a.own_certificates[0].id)])

    store_b = await stores.create(create("MYCO", "B"))

    assert await keys_of(stores, "A") == before
    assert (await keys_of(stores, "B"))[0] == str(store_b.own_certificates[0].id)
    assert (store_a.private_key_alias, store_b.private_key_alias) == ("myco@a", "myco@b")
    again = await stores.get(store_a.id)
    assert [(c.id, c.retirement_at) for c in again.own_certificates] == [
        (store_a.own_certificates[0].id, None)
    ]
    assert again.own_certificates[0].used_by.partnerships == ["MYCO:A"]


async def test_a_second_keystore_for_a_partnership_is_refused_pointing_at_rotate(
    two_partnerships: Keystores,
) -> None:
    await two_partnerships.create(create("MYCO", "A"))
    before = await keys_of(two_partnerships, "A")
    for own_key in ("generate", "existing"):
        with pytest.raises(ConflictError) as err:
            await two_partnerships.create(create("MYCO", "A", own_key=own_key))
        assert err.value.errors[0].code == "keystore_exists"
        assert "as2bus keystore rotate MYCO:A" in err.value.errors[0].message
    assert await keys_of(two_partnerships, "A") == before


async def test_a_keystore_needs_a_partnership(two_partnerships: Keystores) -> None:
    with pytest.raises(InvalidFieldsError) as err:
        await two_partnerships.create(create("MYCO", "C"))  # both exist, not paired
    assert err.value.errors[0].code == "partnership_not_found"
    assert "as2bus partnership create --station MYCO --partner C" in err.value.errors[0].message
    with pytest.raises(InvalidFieldsError) as err:
        await two_partnerships.create(create("NOPE", "nobody"))
    assert [e.code for e in err.value.errors] == ["station_not_found", "partner_not_found"]
    assert await two_partnerships.all() == []


async def test_a_partnership_created_a_moment_ago_is_waited_for(
    two_partnerships: Keystores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An automation creates the partnership, then at once its keystore: on a miss, cert-svc
    lets its config replica catch up with what config-svc stored before it answers."""
    replica = two_partnerships.certs.config
    late = paired_replica(station_state("MYCO"), partner_state("C")).partnerships
    caught_up: list[bool] = []

    async def catch_up(timeout: float = 2.0) -> bool:
        link = next(iter(late.values()))
        c = next(p for p in replica.partners.values() if p.as2_id == "C")
        replica.partnerships[link.id] = link.model_copy(update={"partner_id": c.id})
        caught_up.append(True)
        return True

    monkeypatch.setattr(replica, "catch_up", catch_up)
    store = await two_partnerships.create(create("MYCO", "C"))
    assert caught_up == [True]
    assert (store.station_as2_id, store.partner_as2_id) == ("MYCO", "C")


async def test_a_rotation_overlaps_old_and_new_keys_for_that_partnership_only(
    two_partnerships: Keystores, clock: Clock
) -> None:
    stores = two_partnerships
    store_a = await stores.create(create("MYCO", "A"))
    await stores.create(create("MYCO", "B"))
    b_before = await keys_of(stores, "B")
    old = str(store_a.own_certificates[0].id)
    clock.advance(days=30)

    rotated = await stores.rotate(store_a.id, KeystoreRotate())
    new = next(str(c.id) for c in rotated.own_certificates if str(c.id) != old)

    assert await keys_of(stores, "A") == (new, [new, old])  # both decrypt during the overlap
    assert await keys_of(stores, "B") == b_before
    clock.advance(days=7, seconds=1)  # the default switchover
    assert await keys_of(stores, "A") == (new, [new])
    assert await keys_of(stores, "B") == b_before


async def test_a_rotation_switching_in_the_past_is_refused_and_changes_nothing(
    two_partnerships: Keystores, clock: Clock
) -> None:
    """A switch time in the past would put the new key in use since then and retire the old
    one at once (its overlap counted from that time): refused, in one sentence that the CLI
    and the console show as it is. A switch a moment ago (a client's "now") still goes."""
    stores = two_partnerships
    store_a = await stores.create(create("MYCO", "A"))
    old = str(store_a.own_certificates[0].id)
    clock.advance(days=30)
    past = clock.now - timedelta(days=3)
    with pytest.raises(InvalidFieldsError) as refused:
        await stores.rotate(
            store_a.id,
            KeystoreRotate(activation_at=past, retire_previous_at=past + timedelta(days=3)),
        )
    (error,) = refused.value.errors
    assert (error.field, error.code) == ("activation_at", "activation_in_past")
    assert error.message == (
        f"the switch time {past.isoformat()} has passed, and a rotation cannot start in the "
        "past (the previous certificate would retire early): give a time from now on, or none "
        "to switch now"
    )
    assert await keys_of(stores, "A") == (old, [old])  # nothing stored, nothing retired
    (unchanged,) = (await stores.get(store_a.id)).own_certificates
    assert unchanged.retirement_at is None

    just_now = clock.now - timedelta(minutes=1)
    rotated = await stores.rotate(store_a.id, KeystoreRotate(activation_at=just_now))
    assert len(rotated.own_certificates) == 2
    new = next(str(c.id) for c in rotated.own_certificates if str(c.id) != old)
    assert await keys_of(stores, "A") == (new, [new, old])  # the old one still decrypts


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_next_certificate_is_exported_until_it_takes_over(
    two_partnerships: Keystores, clock: Clock
) -> None:
    """After a rotation with a later activation, the partner needs the new certificate before
    then: ``next`` gives it; ``current`` stays the one we sign with now."""
    stores = two_partnerships
    store = await stores.create(create("MYCO", "A"))
    old = store.own_certificates[0].cert_pem
    with pytest.raises(ConflictError) as err:
        await stores.public_certificate(store.id, "next")
    assert err.value.errors[0].code == "no_pending_certificate"
    assert "as2bus cert export --keystore MYCO:A --what public" in err.value.errors[0].message

    later = clock.now + timedelta(days=30)
    rotated = await stores.rotate(store.id, KeystoreRotate(activation_at=later))
    new = next(c.cert_pem for c in rotated.own_certificates if c.state == "pending")
    assert await stores.public_certificate(store.id) == old
    assert await stores.public_certificate(store.id, "next") == new

    sooner = clock.now + timedelta(days=10)  # supersedes it: retires before it would activate
    again = await stores.rotate(store.id, KeystoreRotate(activation_at=sooner))
    newest = next(c.cert_pem for c in again.own_certificates if c.activation_at == sooner)
    assert await stores.public_certificate(store.id, "next") == newest

    clock.advance(days=10, seconds=1)
    assert await stores.public_certificate(store.id) == newest
    with pytest.raises(ConflictError):
        await stores.public_certificate(store.id, "next")


async def test_existing_keystores_sharing_the_station_key_keep_it_until_one_rotates(
    two_partnerships: Keystores, clock: Clock
) -> None:
    """Data from before keys were per partnership: MYCO:A and MYCO:B both on the station's
    alias. They keep working as they are; rotating A moves it to a key of its own (copies of
    the shared key in overlap with its new one) and leaves B the shared key."""
    stores = two_partnerships
    shared = await stores.certs.generate_own(GenerateOwn(alias="myco"))
    store_a = await stores.create(create("MYCO", "A", own_key="existing"))
    await stores.create(create("MYCO", "B", own_key="existing"))
    assert store_a.private_key_alias == "myco"
    assert await keys_of(stores, "A") == (str(shared.id), [str(shared.id)])
    clock.advance(days=30)

    rotated = await stores.rotate(store_a.id, KeystoreRotate())

    assert rotated.private_key_alias == "myco@a"
    fingerprints = {c.fingerprint_sha256 for c in rotated.own_certificates}
    assert shared.fingerprint_sha256 in fingerprints  # a copy of the shared key, and a new one
    assert len(fingerprints) == 2
    signing, decryption = await keys_of(stores, "A")
    assert signing != str(shared.id)
    assert len(decryption) == 2
    assert await keys_of(stores, "B") == (str(shared.id), [str(shared.id)])
    clock.advance(days=8)
    assert await keys_of(stores, "A") == (signing, [signing])
    assert await keys_of(stores, "B") == (str(shared.id), [str(shared.id)])


async def test_a_new_key_for_a_partnership_on_the_station_key_is_refused(
    two_partnerships: Keystores,
) -> None:
    """No keystore yet, but the partnership already uses the station's key: a new key would
    replace it without an overlap, so it is refused, saying what to do."""
    await two_partnerships.certs.generate_own(GenerateOwn(alias="myco"))
    with pytest.raises(ConflictError) as err:
        await two_partnerships.create(create("MYCO", "A"))
    assert err.value.errors[0].code == "partnership_key_in_use"
    assert "--own-key existing" in err.value.errors[0].message
    with pytest.raises(ConflictError) as err:
        await two_partnerships.create(create("MYCO", "A", private_key_alias="myco"))
    assert err.value.errors[0].code == "key_alias_in_use"
    assert "MYCO:A, MYCO:B" in err.value.errors[0].message
    assert await two_partnerships.all() == []


async def test_the_key_material_reply_names_each_keystores_key(
    two_partnerships: Keystores,
) -> None:
    await two_partnerships.create(create("MYCO", "A"))
    material = await two_partnerships.certs.key_material(None)
    assert [
        (k.station_as2_id, k.partner_as2_id, k.private_key_alias) for k in material.partnership_keys
    ] == [("MYCO", "A", "myco@a")]


async def test_a_keystore_and_the_partners_certificate_are_stored_together_or_not_at_all(
    two_partnerships: Keystores,
) -> None:
    """Create Cert in one transaction: a partner certificate that is refused leaves no
    keystore and no key behind; a good one is stored with the keystore (PEM, or DER in
    base64), and one already in service under the alias is kept as it is."""
    stores = two_partnerships
    now = stores.certs.clock()
    own = x509.generate_self_signed("acme", now=now, validity_days=365).cert.cert_pem
    with pytest.raises(InvalidFieldsError) as refused:
        await stores.create(create("MYCO", "A", partner_certificate="not a certificate"))
    assert refused.value.errors[0].field == "partner_certificate"
    assert await stores.all() == []
    assert await stores.certs.list_certificates(None, None) == []

    made = await stores.create(create("MYCO", "A", partner_certificate=own))
    assert [c.subject for c in made.partner_certificates] == ["CN=acme"]
    assert made.partner_cert_alias == "a"

    der = load_pem_x509_certificate(own.encode()).public_bytes(serialization.Encoding.DER)
    as_base64 = base64.b64encode(der).decode()
    again = await stores.create(
        create("MYCO", "B", partner_cert_alias="a", partner_certificate=as_base64)
    )
    assert [c.subject for c in again.partner_certificates] == ["CN=acme"]  # kept, not doubled
    assert len(await stores.certs.list_certificates("a", "partner")) == 1
