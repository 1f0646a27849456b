"""What the API shows: open incidents and the latest deliveries."""

from __future__ import annotations

from as2bus.notify.domain.delivery import Delivery
from as2bus.notify.domain.incidents import Incident
from as2bus.notify.ports import UnitOfWorkFactory


class Reads:
    def __init__(self, units: UnitOfWorkFactory) -> None:
        self._units = units

    async def incidents(self) -> list[Incident]:
        async with self._units() as uow:
            return await uow.incidents.all()

    async def deliveries(self, limit: int) -> list[Delivery]:
        async with self._units() as uow:
            return await uow.deliveries.recent(limit)
