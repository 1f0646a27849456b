"""outbound-svc's API: partners' limits in use (read scope) and the connection test the console
offers operators (operate scope)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request, status

from as2bus.contracts import PartnerState
from as2bus.outbound.wiring import wiring
from as2bus.shared.web import Scope, scoped_routers

routers = scoped_routers("/api/v1")
read = routers[Scope.READ]
operate = routers[Scope.OPERATE]


# Declared first: a /partners/{as2_id} route added below can never take "limits" for an AS2 ID.
@read.get("/partners/limits", tags=["partners"])
async def all_limits(request: Request) -> list[dict[str, Any]]:
    """Every partner's limits in use now, by AS2 ID, in one answer (the console's Partner
    health page): for each, its ``as2_id`` and what ``/partners/{as2_id}/limits`` gives."""
    now = datetime.now(UTC)
    partners = sorted(wiring.get(request).replica.partners.values(), key=lambda p: p.as2_id)
    return [{"as2_id": p.as2_id, **await _usage(request, p, now)} for p in partners]


@read.get("/partners/{as2_id}/limits", tags=["partners"])
async def limits(as2_id: str, request: Request) -> dict[str, Any]:
    """How much of the partner's limits is in use now: sends in progress against its maximum
    concurrency, send tokens available against its rate limit."""
    return await _usage(request, _partner(request, as2_id), datetime.now(UTC))


async def _usage(request: Request, partner: PartnerState, now: datetime) -> dict[str, Any]:
    in_flight, tokens = await wiring.get(request).claims.usage(
        partner.as2_id, partner.rate_limit_per_second, now
    )
    return {
        "in_flight": in_flight,
        "max_concurrency": partner.max_concurrency,
        "rate_limit_per_second": partner.rate_limit_per_second,
        "tokens_available": tokens,
    }


def _partner(request: Request, as2_id: str) -> PartnerState:
    replica = wiring.get(request).replica
    partner = next((p for p in replica.partners.values() if p.as2_id == as2_id), None)
    if partner is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no partner {as2_id!r}")
    return partner


# A path converter: an AS2 ID may hold "/" (percent-encoded, and decoded before routing).
@operate.post("/partners/{as2_id:path}/connection-test", tags=["partners"])
async def connection_test(as2_id: str, request: Request) -> list[dict[str, Any]]:
    """Reach the partner step by step (DNS, TCP, TLS, HTTP with its authentication) and check
    its certificates; each step with its result, in order. ``as2_id`` percent-encoded."""
    steps = await wiring.get(request).connection_test.run(_partner(request, as2_id))
    return [asdict(step) for step in steps]
