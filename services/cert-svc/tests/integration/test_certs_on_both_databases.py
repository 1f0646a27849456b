"""cert-svc's use cases on real SQLite and PostgreSQL, with a clock the tests move."""

from __future__ import annotations

import json
from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.cert import x509
from as2bus.cert.adapters.tables import certificates, outbox
from as2bus.cert.adapters.tables import keystores as keystore_table
from as2bus.cert.keystores import Keystores
from as2bus.cert.schemas import GenerateOwn, KeystoreCreate
from as2bus.cert.service import CertService
from as2bus.shared.audit import set_actor
from as2bus.shared.crypto import SecretBox
from as2bus.shared.errors import ConflictError, InvalidFieldsError

from .conftest import T0, Clock

Sessions = async_sessionmaker[AsyncSession]
PASSWORD = "keystore-pass-123"


async def events(sessions: Sessions) -> list[dict[str, object]]:
    async with sessions() as session:
        rows = (await session.scalars(sa.select(outbox.c.payload).order_by(outbox.c.seq))).all()
    return [json.loads(r) for r in rows]


def partner_pem(cn: str, clock: Clock, days: int = 365) -> bytes:
    own = x509.generate_self_signed(cn, now=clock(), validity_days=days)
    return own.cert.cert_pem.encode()


async def test_keys_are_sealed_at_rest_and_nowhere_in_events(
    certs: CertService, sessions: Sessions, master_key: str
) -> None:
    view = await certs.generate_own(GenerateOwn(alias="myco"))
    assert view.has_private_key
    assert view.used_by.stations == ["MYCO"]
    async with sessions() as session:
        row = (await session.execute(sa.select(certificates))).mappings().one()
    dump = json.dumps({k: str(v) for k, v in row.items()})
    assert "PRIVATE KEY" not in dump
    key_pem = SecretBox(master_key).open(row["key_sealed"], f"certificate:{row['id']}:key")
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    recorded = await events(sessions)
    assert [e["event_type"] for e in recorded] == ["CertImported"]
    assert "PRIVATE KEY" not in json.dumps(recorded)


async def test_a_switch_time_given_with_an_offset_is_kept_as_that_instant(
    certs: CertService, clock: Clock
) -> None:
    """SQLite kept a time's wall clock and dropped its offset: a switch at 10:00+02:00 (the
    console's form in Berlin in summer) was stored as 10:00 UTC, two hours late."""
    first = await certs.upload_partner("acme", partner_pem("acme-2026", clock))
    berlin_summer = timezone(timedelta(hours=2))
    activation = (T0 + timedelta(days=30)).astimezone(berlin_summer)
    retire = activation + timedelta(days=3)
    newer = partner_pem("acme-2027", clock)
    second = await certs.upload_partner(
        "acme", newer, activation_at=activation, retire_previous_at=retire
    )
    assert (await certs.get(second.id)).activation_at == T0 + timedelta(days=30)
    assert (await certs.get(first.id)).retirement_at == T0 + timedelta(days=33)


async def test_a_second_certificate_on_an_alias_is_a_rotation_with_a_window(
    certs: CertService, sessions: Sessions, clock: Clock
) -> None:
    first = await certs.upload_partner("acme", partner_pem("acme-2026", clock))
    activation = T0 + timedelta(days=2)
    second = await certs.upload_partner(
        "acme", partner_pem("acme-2027", clock), activation_at=activation
    )
    assert second.state == "pending"
    old = await certs.get(first.id)
    assert old.retirement_at == activation + timedelta(days=7)  # the default switchover
    rotated = (await events(sessions))[-1]
    assert rotated["event_type"] == "CertRotated"
    assert rotated["data"]["previous_fingerprints"] == [first.fingerprint_sha256]  # type: ignore[index]

    clock.now = activation + timedelta(days=1)
    material = await certs.key_material(["acme"])
    assert {e.fingerprint_sha256 for e in material.entries} == {
        first.fingerprint_sha256,
        second.fingerprint_sha256,
    }
    clock.now = activation + timedelta(days=8)
    material = await certs.key_material(["acme"])
    assert [e.fingerprint_sha256 for e in material.entries] == [second.fingerprint_sha256]


async def test_the_same_certificate_twice_is_refused(certs: CertService, clock: Clock) -> None:
    pem = partner_pem("acme", clock)
    await certs.upload_partner("acme", pem)
    with pytest.raises(ConflictError, match="already stored"):
        await certs.upload_partner("acme", pem)


async def test_bad_uploads_name_the_field_and_store_nothing(
    certs: CertService, sessions: Sessions, clock: Clock
) -> None:
    own = x509.generate_self_signed("me", now=clock())
    with pytest.raises(InvalidFieldsError) as err:
        await certs.upload_partner("acme", own.key_pem.encode() + own.cert.cert_pem.encode())
    assert err.value.errors[0].field == "file"
    with pytest.raises(InvalidFieldsError):
        await certs.import_own("myco", b"not a pkcs12 file", "pw", None)
    expired = partner_pem("old", clock, days=1)
    clock.advance(days=3)
    with pytest.raises(InvalidFieldsError, match="expired"):
        await certs.upload_partner("acme", expired)
    accepted = await certs.upload_partner("acme", expired, allow_invalid_dates=True)
    assert accepted.warnings
    assert accepted.state == "expired"
    async with sessions() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(certificates))
    assert count == 1  # only the one accepted on purpose


async def test_expiry_warnings_go_out_once_per_threshold(
    certs: CertService, sessions: Sessions, clock: Clock
) -> None:
    await certs.upload_partner("acme", partner_pem("acme", clock, days=40))
    seen = []
    for day in range(0, 45):
        clock.now = T0 + timedelta(days=day)
        seen += [(e.threshold_days, e.days_left) for e in await certs.check_expiry()]
        await certs.check_expiry()  # checking twice on the same day adds nothing
    assert [t for t, _ in seen] == [30, 14, 7, 1, 0]
    kinds = [e["event_type"] for e in await events(sessions)]
    assert kinds.count("CertExpiring") == 4
    assert kinds.count("CertExpired") == 1


async def test_keystore_export_round_trips_with_its_password(
    keystores: Keystores, certs: CertService, sessions: Sessions, clock: Clock
) -> None:
    store = await keystores.create(
        KeystoreCreate.model_validate({"station": "MYCO", "partner": "acme", "password": PASSWORD})
    )
    assert store.private_key_alias == "myco@acme"  # the partnership's own key
    assert store.partner_cert_alias == "acme"
    await certs.upload_partner("acme", partner_pem("acme", clock))
    exported = await keystores.export_keystore(store.id)
    reloaded = x509.load_own_pkcs12(exported, PASSWORD, "myco@acme")
    assert reloaded.cert.fingerprint_sha256 == store.own_certificates[0].fingerprint_sha256
    names = [alias for alias, _ in x509.load_p12_certificates(exported, PASSWORD)]
    assert "acme" in names
    partner_only = await keystores.export_partner(store.id)
    assert [a for a, _ in x509.load_p12_certificates(partner_only, PASSWORD)] == ["acme"]
    async with sessions() as session:
        sealed = await session.scalar(sa.select(keystore_table.c.password_sealed))
    assert PASSWORD not in str(sealed)
    with pytest.raises(ConflictError, match="already has a keystore"):
        await keystores.create(
            KeystoreCreate.model_validate(
                {"station": "MYCO", "partner": "acme", "password": PASSWORD, "own_key": "existing"}
            )
        )


async def test_a_keystore_for_an_unknown_partner_is_refused(keystores: Keystores) -> None:
    with pytest.raises(InvalidFieldsError) as err:
        await keystores.create(
            KeystoreCreate.model_validate(
                {"station": "MYCO", "partner": "nobody", "password": PASSWORD}
            )
        )
    assert [e.field for e in err.value.errors] == ["partner"]


async def test_changes_made_through_the_api_say_who_and_background_events_do_not(
    certs: CertService, sessions: Sessions, clock: Clock
) -> None:
    """What the token check records for the call (web.require_scope) goes with every event the
    call causes; an expiry warning, which nobody made, carries no audit record."""
    set_actor("alice@example.com via API token 1a2b3c4d")
    try:
        await certs.generate_own(GenerateOwn(alias="myco", validity_days=20))
    finally:
        set_actor(None)
    await certs.check_expiry()
    imported, expiring = await events(sessions)
    assert imported["event_type"] == "CertImported"
    assert imported["audit"] == {
        "actor": "alice@example.com via API token 1a2b3c4d",
        "changes": {},
    }
    assert expiring["event_type"] == "CertExpiring"
    assert expiring["audit"] is None
