"""outbound-svc's API: the connection test the console offers operators (operate scope)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import HTTPException, Request, status

from as2bus.shared.web import Scope, scoped_routers

routers = scoped_routers("/api/v1")
operate = routers[Scope.OPERATE]


@operate.post("/partners/{as2_id}/connection-test", tags=["partners"])
async def connection_test(as2_id: str, request: Request) -> list[dict[str, Any]]:
    """Reach the partner step by step (DNS, TCP, TLS, HTTP with its authentication) and check
    its certificates; each step with its result, in order."""
    replica = request.app.state.replica
    partner = next((p for p in replica.partners.values() if p.as2_id == as2_id), None)
    if partner is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no partner {as2_id!r}")
    steps = await request.app.state.connection_test.run(partner)
    return [asdict(step) for step in steps]
