"""Event versions: ``parse_event`` reads an older ``schema_version`` of an event as the current
one through upcasters, and refuses a newer one with a sentence instead of misreading it.

The example is a contract change of the kind the rules forbid within a version: a field
renamed (``shipper`` → ``carrier``), then one split (``weight`` "12 kg" → value and unit).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from as2bus.contracts import (
    EventRegistry,
    NewerEventError,
    UnknownEventError,
    registered_events,
)
from as2bus.contracts.envelope import EVENTS, Contract, Event, current_version


class Shipment(Contract):
    carrier: str
    weight_value: float
    weight_unit: str


class ShipmentDispatched(Event):
    subject: ClassVar[str] = "test.evt.shipment.dispatched"
    schema_version: int = 3
    data: Shipment


def registry(*, with_second_step: bool = True) -> EventRegistry:
    events = EventRegistry()
    events.register(ShipmentDispatched)

    @events.upcaster("ShipmentDispatched", from_version=1)
    def carrier_was_shipper(payload: dict[str, Any]) -> dict[str, Any]:
        data = dict(payload["data"])
        data["carrier"] = data.pop("shipper")
        return {**payload, "data": data}

    if with_second_step:

        @events.upcaster("ShipmentDispatched", from_version=2)
        def weight_in_two_fields(payload: dict[str, Any]) -> dict[str, Any]:
            data = dict(payload["data"])
            value, unit = data.pop("weight").split()
            return {**payload, "data": {**data, "weight_value": float(value), "weight_unit": unit}}

    return events


def published(version: int, data: dict[str, Any]) -> bytes:
    return json.dumps({
        "event_type": "ShipmentDispatched",
        "event_id": "7d0c1f7e-2b8a-4c4e-9f77-1b1c9d0e5a10",
        "occurred_at": "2026-12-04T10:00:00Z",
        "schema_version": version,
        "data": data,
    }).encode()  # fmt: skip


def test_the_oldest_version_is_upcast_step_by_step_to_the_current_one() -> None:
    event = registry().parse(published(1, {"shipper": "DHL", "weight": "12.5 kg"}))
    assert isinstance(event, ShipmentDispatched)
    assert event.schema_version == 3
    assert event.data == Shipment(carrier="DHL", weight_value=12.5, weight_unit="kg")
    assert str(event.event_id) == "7d0c1f7e-2b8a-4c4e-9f77-1b1c9d0e5a10"


def test_a_middle_version_takes_only_the_steps_after_it() -> None:
    event = registry().parse(published(2, {"carrier": "UPS", "weight": "3 lb"}))
    assert isinstance(event, ShipmentDispatched)
    assert event.data == Shipment(carrier="UPS", weight_value=3.0, weight_unit="lb")


def test_the_current_version_is_read_as_it_is() -> None:
    current = ShipmentDispatched(data=Shipment(carrier="DHL", weight_value=1, weight_unit="kg"))
    assert registry().parse(current.to_bytes()) == current


def test_a_newer_version_is_refused_with_a_sentence_and_not_skipped() -> None:
    with pytest.raises(NewerEventError, match="version 4 is newer than the version 3") as err:
        registry().parse(published(4, {"carrier": "DHL"}))
    # consumers skip unknown types; a newer version must fail the handling instead
    assert not isinstance(err.value, UnknownEventError)


def test_a_missing_step_is_named_before_any_event_needs_it() -> None:
    events = registry(with_second_step=False)
    assert events.missing_upcasters() == ["ShipmentDispatched 2 → 3"]
    with pytest.raises(UnknownEventError, match="no upcaster from version 2"):
        events.parse(published(1, {"shipper": "DHL", "weight": "1 kg"}))


def test_one_step_has_one_upcaster() -> None:
    events = registry()
    with pytest.raises(ValueError, match="two upcasters from version 1"):
        events.upcaster("ShipmentDispatched", from_version=1)(lambda payload: payload)


def test_every_contract_can_read_its_older_versions() -> None:
    """The gateway's own events: a raised version without its upcaster fails here."""
    assert EVENTS.missing_upcasters() == []
    assert all(current_version(cls) >= 1 for cls in registered_events())
    assert ShipmentDispatched not in registered_events()  # the example stays out of the catalogue
    assert Event not in registered_events()
