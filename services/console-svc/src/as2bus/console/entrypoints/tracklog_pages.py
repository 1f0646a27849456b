"""The TrackLog: the list with its filters, its CSV export and its live stream of changes."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from as2bus.console.adapters.backends import Backend, BackendError, BackendRefused, Backends
from as2bus.console.domain.tracklog_query import TrackLogQuery, match_count, refusal_notes
from as2bus.console.domain.tracklog_statuses import status_choices
from as2bus.console.entrypoints.guard import Viewer
from as2bus.console.entrypoints.pages import backends, page

router = APIRouter()


@router.get("/tracklog", response_class=HTMLResponse)
async def tracklog(request: Request, who: Viewer) -> HTMLResponse:
    query = TrackLogQuery.of(request.query_params)
    listed, query, notes = await _listed(backends(request).tracklog, query, count=True)
    # The live script takes only the listing (up to twice a second): the filters' choices,
    # two calls to config-svc, are left out of its reloads.
    listing_only = request.headers.get(LISTING_ONLY) == "1"
    partners, stations = ([], []) if listing_only else await _known_as2_ids(backends(request))
    next_page = None
    if listed["next_cursor"]:
        next_page = query.link(cursor=listed["next_cursor"])
    return page(request, "tracklog.html", who, messages=listed["items"], query=query.params,
                filtered=query.filtered, notes=notes,
                status_choices=status_choices(query.params.get("status")),
                matches=match_count(listed, query.filtered),
                partners=partners, stations=stations,
                bounds=query.time_bounds(), export=query.export_link(),
                live_query=query.live(),
                next_page=next_page, newer=query.oldest_first,
                first_page=None if query.first_page else query.first_page_link(),
                sort_created=query.sort_link("created_at"),
                sort_updated=query.sort_link("updated_at"))  # fmt: skip


#: The header the TrackLog's live script sends with its reloads (static/console.js).
LISTING_ONLY = "X-As2bus-Listing-Only"


async def _known_as2_ids(b: Backends) -> tuple[list[str], list[str]]:
    """The partners' and our stations' AS2 IDs, offered as the Partner and Station filters'
    choices; none when config-svc does not answer (the list stands without them)."""
    try:
        partners = await b.config.get("/api/v1/partners") or []
        stations = await b.config.get("/api/v1/stations") or []
    except BackendError:
        return [], []
    return _as2_ids(partners), _as2_ids(stations)


def _as2_ids(found: list[dict[str, Any]]) -> list[str]:
    return sorted((entry["as2_id"] for entry in found), key=str.lower)


async def _listed(
    tracklog: Backend, query: TrackLogQuery, limit: int = 50, *, count: bool = False
) -> tuple[dict[str, Any], TrackLogQuery, list[str]]:
    """The first page ``query`` asks for, the query it was read with and notes on what was
    left out: a filter value, page or order tracklog-svc refuses (a damaged or hand-edited
    link) is dropped and said so, rather than the service blamed. ``count``: how many match
    too (tracklog-svc stops counting at 10,000, so it costs a page at most that long)."""
    extra = {"limit": limit, "count": "true"} if count else {"limit": limit}
    try:
        return await tracklog.get("/api/v1/messages", {**query.asked(), **extra}), query, []
    except BackendRefused as refused:
        bad = [k for k in query.params if k in {f.split(".")[0] for f in refused.reasons}]
        if refused.status != 422 or not bad:
            raise
    notes = refusal_notes(query, bad)
    query = query.without(bad)
    return await tracklog.get("/api/v1/messages", {**query.asked(), **extra}), query, notes


#: The columns of the CSV export, as tracklog-svc names them.
CSV_COLUMNS = ("created_at", "updated_at", "direction", "station", "partner", "filename",
               "status", "attempts", "message_id", "request_id", "error_code", "error",
               "resends", "last_resend_status", "last_resend_message_id")  # fmt: skip
#: An export beyond this many rows is cut (and says so in its last line): narrow the filters.
CSV_MAX_ROWS = 50_000


@router.get("/tracklog.csv", response_model=None)
async def tracklog_csv(request: Request, who: Viewer) -> Response:
    """The filtered list as CSV, every page of it (streamed: a large export is never whole in
    memory). A link with a filter tracklog-svc refuses leads to the list, which says why."""
    query = TrackLogQuery.of(request.query_params).without(["cursor"])
    tracklog = backends(request).tracklog
    listed, read_with, _notes = await _listed(tracklog, query, limit=500)
    if read_with != query:
        return RedirectResponse(query.link(), status_code=303)

    async def rows(listed: dict[str, Any]) -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        written = 0
        while True:
            for item in listed["items"][: CSV_MAX_ROWS - written]:
                writer.writerow(_csv_row(item))
            written += len(listed["items"])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            cursor = listed["next_cursor"]
            if cursor is None:
                return
            if written >= CSV_MAX_ROWS:
                yield f"# cut at {CSV_MAX_ROWS} rows: narrow the filters\n"
                return
            params = {**query.asked(), "limit": 500, "cursor": cursor}
            listed = await tracklog.get("/api/v1/messages", params)

    # Named by when it was taken: a second export is not "tracklog (1).csv" beside the first.
    taken = datetime.now(UTC).strftime("%Y-%m-%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="tracklog-{taken}Z.csv"'}
    return StreamingResponse(rows(listed), media_type="text/csv; charset=utf-8", headers=headers)


def _csv_row(item: dict[str, Any]) -> list[Any]:
    """A message as the export's columns: its newest resend's facts flattened."""
    again = item.get("last_resend") or {}
    flat = {**item, "resends": item.get("resends", 0), "last_resend_status": again.get("status"),
            "last_resend_message_id": again.get("message_id")}  # fmt: skip
    return [flat.get(column) for column in CSV_COLUMNS]


@router.get("/tracklog/live")
async def tracklog_live(request: Request, who: Viewer) -> StreamingResponse:
    """tracklog-svc's live stream of status changes, passed through: the browser never holds
    the token it needs (the page's script reloads its rows on each change)."""
    query = TrackLogQuery.of(request.query_params).live_asked()
    opened = backends(request).tracklog.stream("/api/v1/stream", query)

    async def passed_on() -> AsyncIterator[bytes]:
        async with opened as answer:
            if answer.status_code != 200:
                yield b"event: unavailable\ndata: {}\n\n"
                return
            async for chunk in answer.aiter_raw():
                if await request.is_disconnected():
                    return
                yield chunk

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(passed_on(), media_type="text/event-stream", headers=headers)
