"""Configuration as config-svc publishes it (the config bucket's states), for tests of the
services that read it through a ``ConfigReplica``: one station paired with one partner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from as2bus.contracts import PartnershipState, PartnerState, StationState
from as2bus.shared.bus.replica import ConfigReplica

AT = datetime(2026, 6, 1, tzinfo=UTC)


def station_state(as2_id: str = "MYCO", **changes: Any) -> StationState:
    fields: dict[str, Any] = {"name": as2_id, "private_key_alias": as2_id.lower()}
    return StationState(
        id=uuid.uuid4(), revision=1, as2_id=as2_id, created_at=AT, updated_at=AT,
        **(fields | changes),
    )  # fmt: skip


def partner_state(as2_id: str = "acme", **changes: Any) -> PartnerState:
    fields: dict[str, Any] = {
        "name": as2_id,
        "as2_alias": as2_id.lower(),
        "as2_url": f"https://{as2_id.lower()}.example/as2",
    }
    return PartnerState(
        id=uuid.uuid4(), revision=1, as2_id=as2_id, created_at=AT, updated_at=AT,
        **(fields | changes),
    )  # fmt: skip


def paired_replica(station: StationState, partner: PartnerState) -> ConfigReplica:
    """A replica holding ``station`` and ``partner`` and an enabled partnership between them."""
    link = PartnershipState(
        id=uuid.uuid4(),
        revision=1,
        station_id=station.id,
        partner_id=partner.id,
        station_as2_id=station.as2_id,
        partner_as2_id=partner.as2_id,
        created_at=AT,
        updated_at=AT,
    )
    replica = ConfigReplica()
    replica.stations[station.id] = station
    replica.partners[partner.id] = partner
    replica.partnerships[link.id] = link
    return replica
