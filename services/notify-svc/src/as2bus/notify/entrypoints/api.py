"""notify-svc's API: the open incidents, the latest deliveries, and a channel's test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request

from as2bus.notify.ports import DeliveryError
from as2bus.notify.wiring import Components, wiring
from as2bus.shared.web import Scope, scoped_routers

routers = scoped_routers("/api/v1")
read = routers[Scope.READ]
admin = routers[Scope.ADMIN]


def get_components(request: Request) -> Components:
    return wiring.get(request)


Parts = Annotated[Components, Depends(get_components)]


@read.get("/incidents", tags=["notifications"])
async def incidents(parts: Parts) -> list[dict[str, Any]]:
    """Open incidents: pending (waiting for the rule's minutes) or firing (told)."""
    return [vars(i) for i in await parts.reads.incidents()]


@read.get("/deliveries", tags=["notifications"])
async def deliveries(
    parts: Parts, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """The latest deliveries, newest first: pending, sent or given up, with the last error."""
    return [vars(d) for d in await parts.reads.deliveries(limit)]


@admin.post("/channels/{channel_id}/test", tags=["notifications"])
async def test_channel(channel_id: uuid.UUID, parts: Parts) -> dict[str, Any]:
    """Send a test notice through the channel now; 502 with the reason when it did not go."""
    try:
        name = await parts.tester.test(channel_id, datetime.now(UTC))
    except DeliveryError as err:
        raise HTTPException(502, detail=f"the test notice did not go out: {err}") from None
    return {"sent": True, "channel": name}
