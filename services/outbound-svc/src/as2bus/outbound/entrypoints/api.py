"""outbound-svc's API: the connection test the console offers operators (operate scope)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request, status

from as2bus.shared.web import Scope, scoped_routers

routers = scoped_routers("/api/v1")
read = routers[Scope.READ]
operate = routers[Scope.OPERATE]


@read.get("/partners/{as2_id}/limits", tags=["partners"])
async def limits(as2_id: str, request: Request) -> dict[str, Any]:
    """How much of the partner's limits is in use now: sends in progress against its maximum
    concurrency, send tokens available against its rate limit."""
    partner = _partner(request, as2_id)
    now = datetime.now(UTC)
    in_flight, tokens = await request.app.state.claims.usage(
        as2_id, partner.rate_limit_per_second, now
    )
    return {
        "in_flight": in_flight,
        "max_concurrency": partner.max_concurrency,
        "rate_limit_per_second": partner.rate_limit_per_second,
        "tokens_available": tokens,
    }


def _partner(request: Request, as2_id: str) -> Any:
    replica = request.app.state.replica
    partner = next((p for p in replica.partners.values() if p.as2_id == as2_id), None)
    if partner is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no partner {as2_id!r}")
    return partner


@operate.post("/partners/{as2_id}/connection-test", tags=["partners"])
async def connection_test(as2_id: str, request: Request) -> list[dict[str, Any]]:
    """Reach the partner step by step (DNS, TCP, TLS, HTTP with its authentication) and check
    its certificates; each step with its result, in order."""
    steps = await request.app.state.connection_test.run(_partner(request, as2_id))
    return [asdict(step) for step in steps]
