"""tracklog-svc's REST API and live stream: thin translators between HTTP and the reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from as2bus.shared.web import Scope, scoped_routers
from as2bus.tracklog.adapters.queries import BadCursorError, MessageFilter, Order, Sort
from as2bus.tracklog.adapters.stats import Bucket
from as2bus.tracklog.domain import Direction, Status
from as2bus.tracklog.hub import CLOSED, OVERFLOW, ChangeHub
from as2bus.tracklog.reads import Reads
from as2bus.tracklog.schemas import (
    CertificateOut,
    MessageDetail,
    MessagePage,
    PartnerHealth,
    ProjectionStatus,
    Rotation,
    Stats,
    StatusChangeOut,
)
from as2bus.tracklog.wiring import wiring


def reads(request: Request) -> Reads:
    return wiring.get(request).reads


def hub(request: Request) -> ChangeHub:
    return wiring.get(request).hub


ReadsDep = Annotated[Reads, Depends(reads)]
Partner = Annotated[str | None, Query(description="The partner's AS2 ID, in any case")]
Statuses = Annotated[list[Status] | None, Query(description="One or more statuses")]

routers = scoped_routers("/api/v1")
read = routers[Scope.READ]  # routes any token may call


@read.get("/messages", tags=["messages"])
async def list_messages(
    service: ReadsDep,
    partner: Partner = None,
    station: Annotated[str | None, Query(description="Our AS2 ID, in any case")] = None,
    direction: Direction | None = None,
    status_: Annotated[Statuses, Query(alias="status")] = None,
    message_id: Annotated[str | None, Query(description="Exact, with or without <>")] = None,
    request_id: Annotated[str | None, Query(description="Outbound send request id")] = None,
    filename: Annotated[str | None, Query(description="Filename prefix, any case")] = None,
    replays: Annotated[
        str | None, Query(description="Resends of this Message-ID (exact, as stored)")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            description="Free text: a Message-ID's start (<> optional), a request id, "
            "or a filename's start"
        ),
    ] = None,
    resent: Annotated[
        bool | None,
        Query(description="true: only messages sent again since; false: only those never resent"),
    ] = None,
    since: Annotated[datetime | None, Query(description="Sort field >= since")] = None,
    until: Annotated[datetime | None, Query(description="Sort field < until")] = None,
    sort: Sort = "created_at",
    order: Order = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    count: Annotated[
        bool, Query(description="Also count the matches of every page (up to 10,000)")
    ] = False,
) -> MessagePage:
    """Messages, newest first by default; filters combine with AND. Partner and station match
    in any case; ``q`` matches the start of a Message-ID (its "<" optional, so its part before
    the "@" finds it), a whole request id or the start of a filename in any case. ``count``
    costs up to 10,000 index entries more, so a list asks for it only when it shows it."""
    f = MessageFilter(direction, tuple(status_ or ()), partner, station, message_id,
                      request_id, filename, since, until, replays, q, resent)  # fmt: skip
    try:
        return await service.messages(
            f, sort=sort, order=order, limit=limit, cursor=cursor, count=count
        )
    except BadCursorError as err:
        detail = [{"loc": ["query", "cursor"], "msg": str(err), "type": "value_error"}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail) from None


@read.get("/messages/{message_ref}", tags=["messages"])
async def get_message(service: ReadsDep, message_ref: uuid.UUID) -> MessageDetail:
    """One message with every fact known about it and its timeline, oldest event first."""
    return await service.message(message_ref)


@read.get("/projection", tags=["operations"])
async def projection(service: ReadsDep, request: Request) -> ProjectionStatus:
    """How far the projection has got: events applied, events still waiting."""
    components = wiring.get(request)
    return ProjectionStatus(
        consumer=components.consumer_name,
        events_applied=await service.events_applied(),
        pending=await components.consumer.pending(),
        last_error=components.consumer.last_error,
    )


@read.get("/stats", tags=["dashboard"])
async def get_stats(
    service: ReadsDep,
    since: Annotated[datetime | None, Query(description="Default: a day before until")] = None,
    until: Annotated[datetime | None, Query(description="Default: now")] = None,
    bucket: Bucket = "hour",
    partner: Annotated[str | None, Query(description="The partner's AS2 ID, exactly")] = None,
) -> Stats:
    """Counts by status per partner per hour or day, time to MDN, failure reasons and
    certificate expiry, for messages first seen in the window."""
    return await service.stats(since, until, bucket, partner)


@read.get("/partners/health", tags=["dashboard"])
async def partner_health(service: ReadsDep) -> list[PartnerHealth]:
    """Every partner with outbound messages, by AS2 ID: its latest delivered and latest failed
    or refused message (by last activity) and how many wait (in all and per status), all
    partners in one answer."""
    return await service.partner_health()


@read.get("/certificates", tags=["certificates"])
async def list_certificates(service: ReadsDep) -> list[CertificateOut]:
    """Every certificate cert-svc announced, soonest expiry first, with days left."""
    return await service.certificates()


@read.get("/certificates/rotations", tags=["certificates"])
async def upcoming_rotations(
    service: ReadsDep, days: Annotated[float, Query(gt=0, le=3650)] = 30
) -> list[Rotation]:
    """Certificates that activate or retire in the next ``days``."""
    return await service.rotations(days)


@read.get(
    "/stream",
    tags=["messages"],
    response_class=EventSourceResponse,
    responses={200: {"description": "`status` events, each a StatusChangeOut as JSON; "
                     "an `overflow` event asks the client to reload (it read too slowly)"}},
)  # fmt: skip
async def stream(
    changes: Annotated[ChangeHub, Depends(hub)],
    partner: Partner = None,
    direction: Direction | None = None,
    status_: Annotated[Statuses, Query(alias="status")] = None,
) -> AsyncIterable[ServerSentEvent]:
    """Server-Sent Events: each status change as it is applied, live."""
    with changes.listen() as listener:
        yield ServerSentEvent(comment="listening")  # headers go out now: the client is live
        while True:
            change = await listener.next()
            if change == CLOSED:
                return
            if change == OVERFLOW:
                yield ServerSentEvent(event="overflow", data={"reload": True})
                return
            assert not isinstance(change, str)
            if partner is not None and partner.lower() != (change.partner or "").lower():
                continue  # in any case, as the list filters (the page's live view uses both)
            if direction not in (None, change.direction):
                continue
            if status_ and change.status not in status_:
                continue
            body = StatusChangeOut.model_validate(change.as_json())
            yield ServerSentEvent(event="status", data=body.model_dump(mode="json"))
