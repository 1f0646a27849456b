"""The use cases against real SQLite and PostgreSQL (each test runs on both)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.config.adapters.repository import ConfigRepository
from as2bus.config.adapters.tables import outbox, partners
from as2bus.config.schemas import (
    PartnerCreate,
    PartnershipCreate,
    PartnershipUpdate,
    PartnerUpdate,
    StationCreate,
    StationUpdate,
)
from as2bus.config.service import ConfigService
from as2bus.contracts.config import PartnerTls
from as2bus.shared.crypto import SecretBox
from as2bus.shared.errors import ConflictError, InvalidFieldsError, NotFoundError
from as2bus.testing.tls import PrivateCa, public_key_sha256

from .conftest import SECRET

Sessions = async_sessionmaker[AsyncSession]


def partner_input(as2_id: str = "amazon", **extra: object) -> PartnerCreate:
    return PartnerCreate.model_validate(
        {
            "as2_id": as2_id,
            "name": as2_id.title(),
            "as2_url": "https://as2.example.com/as2",
            **extra,
        }
    )


async def outbox_types(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        rows = (await session.execute(sa.select(outbox.c.payload).order_by(outbox.c.seq))).all()
    return [json.loads(r.payload)["event_type"] for r in rows]


async def test_each_change_records_its_event_in_commit_order(
    service: ConfigService, sessions: Sessions
) -> None:
    station = await service.create_station(StationCreate(as2_id="MYCO", name="My Co"))
    partner = await service.create_partner(partner_input())
    link = await service.create_partnership(
        PartnershipCreate(station_id=station.id, partner_id=partner.id)
    )
    await service.update_partner(partner.id, PartnerUpdate(name="Amazon EU"))
    await service.update_partnership(link.id, PartnershipUpdate(enabled=False))
    await service.delete_partnership(link.id)
    await service.delete_partner(partner.id)
    await service.delete_station(station.id)
    assert await outbox_types(sessions) == [
        "StationCreated", "PartnerCreated", "PartnershipCreated", "PartnerUpdated",
        "PartnershipUpdated", "PartnershipDeleted", "PartnerDeleted", "StationDeleted",
    ]  # fmt: skip
    assert await service.list_stations() == []


async def test_an_update_that_changes_nothing_records_nothing(
    service: ConfigService, sessions: Sessions
) -> None:
    partner = await service.create_partner(partner_input())
    same = await service.update_partner(partner.id, PartnerUpdate(name=partner.name))
    assert same.revision == 1
    assert await outbox_types(sessions) == ["PartnerCreated"]


async def test_secrets_are_sealed_at_rest_and_kept_across_updates(
    service: ConfigService, sessions: Sessions, master_key: str
) -> None:
    auth = {"type": "basic", "username": "acme", "password": SECRET}
    partner = await service.create_partner(partner_input(http_auth=auth))
    assert partner.http_auth.type == "basic"
    async with sessions() as session:
        raw = (await session.execute(sa.select(partners))).one()
        outbox_text = " ".join((await session.scalars(sa.select(outbox.c.payload))).all())
    assert SECRET not in str(tuple(raw))
    assert SECRET not in outbox_text
    await service.update_partner(
        partner.id, PartnerUpdate.model_validate({"http_auth": {"type": "basic", "username": "b"}})
    )
    async with sessions() as session:
        repo = ConfigRepository(session, SecretBox(master_key))
        assert await repo.get_partner_secrets(partner.id) == {"password": SECRET}


async def test_duplicates_and_references_are_refused(service: ConfigService) -> None:
    station = await service.create_station(StationCreate(as2_id="MYCO", name="My Co"))
    with pytest.raises(ConflictError, match="as2_id"):
        await service.create_station(StationCreate(as2_id="MYCO", name="Again"))
    partner = await service.create_partner(partner_input())
    with pytest.raises(ConflictError, match="as2_id"):
        await service.create_partner(partner_input())
    await service.create_partnership(
        PartnershipCreate(station_id=station.id, partner_id=partner.id)
    )
    with pytest.raises(ConflictError, match="already paired"):
        await service.create_partnership(
            PartnershipCreate(station_id=station.id, partner_id=partner.id)
        )
    with pytest.raises(ConflictError) as in_use:
        await service.delete_partner(partner.id)
    assert in_use.value.errors[0].message == (
        "partner 'amazon' is used by 1 partnership(s) (MYCO -> amazon): delete it first"
    )
    with pytest.raises(NotFoundError):
        await service.get_partner(station.id)


async def test_an_as2_id_differing_only_in_case_from_another_is_refused(
    service: ConfigService,
) -> None:
    partner = await service.create_partner(partner_input("ACMERETAIL"))
    with pytest.raises(ConflictError) as err:
        await service.create_partner(partner_input("acmeretail"))
    (problem,) = err.value.errors
    assert (problem.field, problem.code) == ("as2_id", "as2_id_differs_only_in_case")
    assert problem.message == (
        "a partner 'ACMERETAIL' exists; AS2 IDs that differ only in case are refused: "
        "partners' products often compare them without case"
    )
    other = await service.create_partner(partner_input("OTHER"))
    with pytest.raises(ConflictError, match="a partner 'ACMERETAIL' exists"):
        await service.update_partner(other.id, PartnerUpdate(as2_id="AcmeRetail"))
    # A partner may change the case of its own AS2 ID.
    renamed = await service.update_partner(partner.id, PartnerUpdate(as2_id="AcmeRetail"))
    assert renamed.as2_id == "AcmeRetail"
    station = await service.create_station(StationCreate(as2_id="DISTCO", name="Distco"))
    with pytest.raises(ConflictError, match="a station 'DISTCO' exists; AS2 IDs that differ"):
        await service.create_station(StationCreate(as2_id="distco", name="Again"))
    spare = await service.create_station(StationCreate(as2_id="SPARE", name="Spare"))
    with pytest.raises(ConflictError, match="a station 'DISTCO' exists"):
        await service.update_station(spare.id, StationUpdate(as2_id="Distco"))
    assert (await service.update_station(station.id, StationUpdate(as2_id="DistCo"))).revision == 2
    assert sorted(p.as2_id for p in await service.list_partners()) == ["AcmeRetail", "OTHER"]


async def test_a_disabled_partner_cannot_join_a_partnership(service: ConfigService) -> None:
    station = await service.create_station(StationCreate(as2_id="MYCO", name="My Co"))
    partner = await service.create_partner(partner_input(enabled=False))
    with pytest.raises(InvalidFieldsError) as err:
        await service.create_partnership(
            PartnershipCreate(station_id=station.id, partner_id=partner.id)
        )
    assert [e.field for e in err.value.errors] == ["partner_id"]
    assert "disabled" in str(err.value)
    assert await service.list_partnerships() == []


async def test_renaming_a_station_reannounces_its_partnerships(
    service: ConfigService, sessions: Sessions
) -> None:
    station = await service.create_station(StationCreate(as2_id="MYCO", name="My Co"))
    partner = await service.create_partner(partner_input())
    link = await service.create_partnership(
        PartnershipCreate(station_id=station.id, partner_id=partner.id)
    )
    await service.update_station(station.id, StationUpdate(as2_id="MYCO-2"))
    renamed = await service.get_partnership(link.id)
    assert renamed.station_as2_id == "MYCO-2"
    assert renamed.revision == 2
    assert (await outbox_types(sessions))[-2:] == ["StationUpdated", "PartnershipUpdated"]


async def test_required_fields_cannot_be_nulled(service: ConfigService) -> None:
    partner = await service.create_partner(partner_input())
    with pytest.raises(InvalidFieldsError) as err:
        await service.update_partner(partner.id, PartnerUpdate.model_validate({"as2_url": None}))
    assert [e.field for e in err.value.errors] == ["as2_url"]


async def test_a_partner_stored_before_replay_protection_reads_without_it_until_set(
    service: ConfigService, sessions: Sessions
) -> None:
    """New partners have it; one stored before the setting existed keeps working as it did
    (off: its settings have no such key) until it is turned on."""
    new = await service.create_partner(partner_input("globex"))
    assert new.replay_protection is True
    old = await service.create_partner(partner_input())
    async with sessions() as session, session.begin():
        row = (await session.execute(sa.select(partners).where(partners.c.id == old.id))).one()
        settings = {k: v for k, v in row.settings.items() if k != "replay_protection"}
        await session.execute(
            sa.update(partners).where(partners.c.id == old.id).values(settings=settings)
        )
    assert (await service.get_partner(old.id)).replay_protection is False
    on = await service.update_partner(old.id, PartnerUpdate(replay_protection=True))
    assert (on.replay_protection, on.revision) == (True, 2)
    assert (await service.get_partner(old.id)).replay_protection is True


async def test_tls_settings_are_stored_and_a_partial_update_keeps_the_others(
    service: ConfigService, sessions: Sessions
) -> None:
    ca = PrivateCa("partner TLS CA")
    _, server = ca.issue(host="as2.example.com")
    pin = public_key_sha256(server)
    partner = await service.create_partner(partner_input(tls={
        "ca_bundle_pem": ca.cert_pem.decode(), "pinned_sha256": [pin.upper()],
        "client_certificate": True, "min_version": "1.3", "proxy_url": "http://proxy:3128",
    }))  # fmt: skip
    assert partner.tls == PartnerTls(
        ca_bundle_pem=ca.cert_pem.decode(), pinned_sha256=[pin], client_certificate=True,
        min_version="1.3", proxy_url="http://proxy:3128",
    )  # fmt: skip
    assert (await service.get_partner(partner.id)).tls == partner.tls

    skip = await service.update_partner(
        partner.id, PartnerUpdate.model_validate({"tls": {"verify": False}})
    )
    assert skip.tls == partner.tls.model_copy(update={"verify": False})
    assert skip.revision == 2
    cleared = await service.update_partner(
        partner.id, PartnerUpdate.model_validate({"tls": {"ca_bundle_pem": None, "proxy_url": ""}})
    )
    assert (cleared.tls.ca_bundle_pem, cleared.tls.proxy_url) == (None, None)
    assert (cleared.tls.pinned_sha256, cleared.tls.verify) == ([pin], False)
    assert (await service.get_partner(partner.id)).tls == cleared.tls
    # Unchanged settings are no change: no new revision, no event.
    same = await service.update_partner(
        partner.id, PartnerUpdate.model_validate({"tls": {"verify": False}})
    )
    assert same.revision == cleared.revision
    assert (await outbox_types(sessions)).count("PartnerUpdated") == 2


async def test_no_verification_is_in_the_published_state_and_tls_cannot_be_null(
    service: ConfigService, sessions: Sessions
) -> None:
    partner = await service.create_partner(partner_input())
    no_verify = PartnerUpdate.model_validate({"tls": {"verify": False}})
    await service.update_partner(partner.id, no_verify)
    async with sessions() as session:
        rows = (await session.execute(sa.select(outbox.c.payload).order_by(outbox.c.seq))).all()
    updated = json.loads(rows[-1].payload)
    assert updated["data"]["tls"]["verify"] is False  # what every replica sees
    with pytest.raises(InvalidFieldsError) as err:
        await service.update_partner(partner.id, PartnerUpdate.model_validate({"tls": None}))
    assert [e.field for e in err.value.errors] == ["tls"]


async def test_mutual_tls_on_receipt_is_refused_without_the_partners_certificates(
    service: ConfigService,
) -> None:
    partner = await service.create_partner(partner_input())
    on = PartnerUpdate.model_validate({"tls": {"require_client_certificate": True}})
    with pytest.raises(InvalidFieldsError) as err:
        await service.update_partner(partner.id, on)
    assert [e.field for e in err.value.errors] == ["tls.client_certificates_pem"]
    client_ca = PrivateCa("partner client CA").cert_pem.decode()
    given = await service.update_partner(
        partner.id, PartnerUpdate.model_validate({"tls": {"client_certificates_pem": client_ca}})
    )
    assert (await service.update_partner(partner.id, on)).tls == given.tls.model_copy(
        update={"require_client_certificate": True}
    )


async def test_a_partner_stored_before_tls_settings_reads_with_the_defaults(
    service: ConfigService, sessions: Sessions
) -> None:
    old = await service.create_partner(partner_input())
    async with sessions() as session, session.begin():
        row = (await session.execute(sa.select(partners).where(partners.c.id == old.id))).one()
        settings = {k: v for k, v in row.settings.items() if k != "tls"}
        await session.execute(
            sa.update(partners).where(partners.c.id == old.id).values(settings=settings)
        )
    assert (await service.get_partner(old.id)).tls == PartnerTls()
    pinned = await service.update_partner(
        old.id, PartnerUpdate.model_validate({"tls": {"pinned_sha256": ["ab" * 32]}})
    )
    assert pinned.tls == PartnerTls(pinned_sha256=["ab" * 32])
