"""A partner certificate under an alias no partner uses: the upload warns, and it can be deleted
while nothing uses it (on real SQLite and PostgreSQL). Partner acme's alias is 'acme'."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.cert import x509
from as2bus.cert.adapters.tables import certificates, expiry_notices, outbox
from as2bus.cert.keystores import Keystores
from as2bus.cert.schemas import GenerateOwn, KeystoreCreate
from as2bus.cert.service import CertService
from as2bus.shared.errors import ConflictError, NotFoundError

from .conftest import T0, Clock

Sessions = async_sessionmaker[AsyncSession]


def partner_pem(cn: str, clock: Clock, days: int = 365) -> bytes:
    return x509.generate_self_signed(cn, now=clock(), validity_days=days).cert.cert_pem.encode()


async def test_an_upload_no_partner_uses_warns_and_names_the_alias_meant(
    certs: CertService, clock: Clock
) -> None:
    wrong_case = await certs.upload_partner("ACME", partner_pem("acme", clock))
    assert wrong_case.used_by.partners == []
    assert wrong_case.warnings == [
        "no partner uses the alias 'ACME': partner acme's certificate alias is 'acme'"
    ]
    stranger = await certs.upload_partner("globex", partner_pem("globex", clock))
    assert stranger.warnings == [
        "no partner uses the alias 'globex' yet: messages use the certificate under their "
        "partner's certificate alias (as2_alias)"
    ]
    right = await certs.upload_partner("acme", partner_pem("acme", clock))
    assert (right.used_by.partners, right.warnings) == (["acme"], [])


async def test_a_certificate_nothing_uses_is_deleted_and_announced_as_retired(
    certs: CertService, sessions: Sessions, clock: Clock
) -> None:
    orphan = await certs.upload_partner("ACME", partner_pem("acme", clock, days=20))
    clock.now = T0 + timedelta(days=1)
    assert [e.threshold_days for e in await certs.check_expiry()] == [30]  # a notice to go too
    await certs.delete(orphan.id)
    async with sessions() as session:
        assert (await session.execute(sa.select(certificates))).all() == []
        assert (await session.execute(sa.select(expiry_notices))).all() == []
        rows = (await session.scalars(sa.select(outbox.c.payload).order_by(outbox.c.seq))).all()
    last = json.loads(rows[-1])
    assert last["event_type"] == "CertDeleted"
    assert last["data"]["alias"] == "ACME"
    assert last["data"]["retirement_at"].startswith((T0 + timedelta(days=1)).date().isoformat())
    with pytest.raises(NotFoundError):
        await certs.delete(orphan.id)


async def test_a_certificate_in_use_or_our_key_in_use_is_not_deleted(
    certs: CertService, keystores: Keystores, clock: Clock
) -> None:
    used = await certs.upload_partner("acme", partner_pem("acme", clock))
    with pytest.raises(ConflictError) as in_use:
        await certs.delete(used.id)
    assert in_use.value.errors[0].message == (
        "partner acme uses the alias 'acme': a certificate in use is not deleted; upload its "
        "successor under the same alias (a rotation) instead"
    )
    store = KeystoreCreate.model_validate({"station": "MYCO", "partner": "acme",
                                           "password": "keystore-pass-123",
                                           "partner_cert_alias": "acme-edi"})  # fmt: skip
    await keystores.create(store)
    held = await certs.upload_partner("acme-edi", partner_pem("acme", clock))
    with pytest.raises(ConflictError, match="the keystore MYCO:acme holds the partner"):
        await certs.delete(held.id)
    ours = await certs.generate_own(GenerateOwn(alias="myco"))  # station MYCO's key alias
    with pytest.raises(ConflictError, match="station MYCO uses the key alias 'myco': our keys"):
        await certs.delete(ours.id)
    assert {c.id for c in await certs.list_certificates(None, None)} >= {used.id, held.id, ours.id}
