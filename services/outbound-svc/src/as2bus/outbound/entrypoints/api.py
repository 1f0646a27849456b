"""outbound-svc's API: partners' limits in use and sent messages' documents (read scope), and
the connection test the console offers operators (operate scope)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request, Response, status

from as2bus.contracts import PartnerState
from as2bus.outbound.domain.documents import KeptDocument
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


@operate.post("/partners/{as2_id:path}/retry-now", tags=["partners"])
async def retry_now(as2_id: str, request: Request) -> dict[str, int]:
    """The partner's retrying messages are sent now rather than at their next attempt, once
    the cause is fixed (the partner back up, its URL corrected); ``retried``: how many. Their
    attempts count as before. ``as2_id`` percent-encoded."""
    found = _partner(request, as2_id)
    components = wiring.get(request)
    retried = await components.claims.hurry(found.as2_id, datetime.now(UTC))
    if retried:
        components.wake_senders()
    return {"retried": retried}


# Message-IDs hold "<", ">", "@" and may hold "/": percent-encoded, and decoded before routing.
@read.get("/messages/{message_id:path}/documents", tags=["messages"])
async def documents(message_id: str, request: Request) -> list[dict[str, Any]]:
    """Each document of a message we sent, the first first (``number`` 1; its attachments
    from 2), with where it is kept now: ``outbound-svc`` (an inline document kept in the
    message's row, served by ``/documents/{number}``), ``object-store`` (read it by the
    reference tracklog-svc's detail has) or ``no-longer`` (the retention of sent documents
    is over)."""
    return [
        {"number": d.number, "filename": d.filename, "content_type": d.content_type,
         "size": d.size, "kept_in": d.kept_in}
        for d in await _documents(request, message_id)
    ]  # fmt: skip


@read.get("/messages/{message_id:path}/documents/{number}", tags=["messages"])
async def document(message_id: str, number: int, request: Request) -> Response:
    """The bytes of document ``number`` of a message we sent, when outbound-svc keeps it (an
    inline document); 404 with the reason otherwise."""
    kept = await _documents(request, message_id)
    if not 1 <= number <= len(kept):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"message {message_id} has no document {number} (it has {len(kept)})",
        )
    found = kept[number - 1]
    if found.kept is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_not_here(found, message_id))
    name = found.filename or f"document-{number}"
    return Response(
        found.kept,
        media_type=found.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


async def _documents(request: Request, message_id: str) -> list[KeptDocument]:
    found = await wiring.get(request).documents.of(message_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"outbound-svc sent no message {message_id}"
        )
    return found


def _not_here(document: KeptDocument, message_id: str) -> str:
    which = f"document {document.number} of message {message_id}"
    if document.kept_in == "object-store":
        return f"{which} is in the object store: read it by its reference"
    return f"{which} is no longer kept: the retention of sent documents is over"
