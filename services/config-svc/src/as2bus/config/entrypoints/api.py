"""The admin REST API: thin translators between HTTP and the use cases."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, status

from as2bus.config.schemas import (
    PartnerCreate,
    PartnershipCreate,
    PartnershipUpdate,
    PartnerUpdate,
    StationCreate,
    StationUpdate,
)
from as2bus.config.service import ConfigService
from as2bus.config.wiring import wiring
from as2bus.contracts import PartnershipState, PartnerState, StationState
from as2bus.shared.web import Scope, scoped_routers


def get_service(request: Request) -> ConfigService:
    return wiring.get(request).service


Service = Annotated[ConfigService, Depends(get_service)]
As2IdFilter = Annotated[str | None, Query(description="Only the entry with this AS2 ID")]

routers = scoped_routers("/api/v1")
read = routers[Scope.READ]  # routes any token may call
admin = routers[Scope.ADMIN]  # configuration, key material, private-key exports


@read.get("/stations", tags=["stations"])
async def list_stations(service: Service, as2_id: As2IdFilter = None) -> list[StationState]:
    return await service.list_stations(as2_id)


@admin.post("/stations", status_code=status.HTTP_201_CREATED, tags=["stations"])
async def create_station(body: StationCreate, service: Service) -> StationState:
    return await service.create_station(body)


@read.get("/stations/{station_id}", tags=["stations"])
async def get_station(station_id: uuid.UUID, service: Service) -> StationState:
    return await service.get_station(station_id)


@admin.patch("/stations/{station_id}", tags=["stations"])
async def update_station(
    station_id: uuid.UUID, body: StationUpdate, service: Service
) -> StationState:
    return await service.update_station(station_id, body)


@admin.delete("/stations/{station_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["stations"])
async def delete_station(station_id: uuid.UUID, service: Service) -> None:
    await service.delete_station(station_id)


@read.get("/partners", tags=["partners"])
async def list_partners(service: Service, as2_id: As2IdFilter = None) -> list[PartnerState]:
    return await service.list_partners(as2_id)


@admin.post("/partners", status_code=status.HTTP_201_CREATED, tags=["partners"])
async def create_partner(body: PartnerCreate, service: Service) -> PartnerState:
    return await service.create_partner(body)


@read.get("/partners/{partner_id}", tags=["partners"])
async def get_partner(partner_id: uuid.UUID, service: Service) -> PartnerState:
    return await service.get_partner(partner_id)


@admin.patch("/partners/{partner_id}", tags=["partners"])
async def update_partner(
    partner_id: uuid.UUID, body: PartnerUpdate, service: Service
) -> PartnerState:
    return await service.update_partner(partner_id, body)


@admin.delete("/partners/{partner_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["partners"])
async def delete_partner(partner_id: uuid.UUID, service: Service) -> None:
    await service.delete_partner(partner_id)


@read.get("/partnerships", tags=["partnerships"])
async def list_partnerships(
    service: Service, station_id: uuid.UUID | None = None, partner_id: uuid.UUID | None = None
) -> list[PartnershipState]:
    return await service.list_partnerships(station_id, partner_id)


@admin.post("/partnerships", status_code=status.HTTP_201_CREATED, tags=["partnerships"])
async def create_partnership(body: PartnershipCreate, service: Service) -> PartnershipState:
    return await service.create_partnership(body)


@read.get("/partnerships/{partnership_id}", tags=["partnerships"])
async def get_partnership(partnership_id: uuid.UUID, service: Service) -> PartnershipState:
    return await service.get_partnership(partnership_id)


@admin.patch("/partnerships/{partnership_id}", tags=["partnerships"])
async def update_partnership(
    partnership_id: uuid.UUID, body: PartnershipUpdate, service: Service
) -> PartnershipState:
    return await service.update_partnership(partnership_id, body)


@admin.delete(
    "/partnerships/{partnership_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["partnerships"]
)
async def delete_partnership(partnership_id: uuid.UUID, service: Service) -> None:
    await service.delete_partnership(partnership_id)
