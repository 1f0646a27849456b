"""The console's pages: the dashboard, Partner health, Send File (the TrackLog's are
tracklog_pages.py, a message's own message_pages.py). Each handler reads what it shows from
the other services, checks the role, and renders a template; forms post back with their CSRF
token."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from as2bus.console.adapters.backends import BackendError, Backends
from as2bus.console.adapters.sending import Upload
from as2bus.console.domain.access_audit import retry_now_entry, send_entry
from as2bus.console.domain.causes import cause_of
from as2bus.console.domain.dashboard import FAILED, expiring_in_keystores, partner_rates, summarise
from as2bus.console.domain.health import PartnerHealth
from as2bus.console.domain.lists import list_of
from as2bus.console.domain.mdn import our_mdn_signed
from as2bus.console.domain.message_cause import (
    reported_processed,
)
from as2bus.console.domain.roles import Action, may
from as2bus.console.entrypoints.guard import CheckedForm, Operator, Viewer
from as2bus.console.entrypoints.text_filters import breakable, whole_dates
from as2bus.console.wiring import wiring
from as2bus.contracts import MAX_ATTACHMENTS
from as2bus.contracts.content_types import mime_type_problem
from as2bus.shared.bus.documents import DocumentStore

templates = Jinja2Templates(directory=Path(__file__).parents[1] / "templates")
router = APIRouter()
templates.env.filters["whole_dates"] = whole_dates
templates.env.filters["breakable"] = breakable
templates.env.globals["list_of"] = list_of  # the "Not found" page's way on, from any page
templates.env.globals["reported_processed"] = reported_processed  # message and resend pages
templates.env.globals["our_mdn_signed"] = our_mdn_signed  # a received message's page


def backends(request: Request) -> Backends:
    return wiring.get(request).backends


def documents(request: Request) -> DocumentStore:
    return wiring.get(request).documents


def page(request: Request, name: str, who: Any, **context: Any) -> HTMLResponse:
    context.update(user=who.user, csrf=who.session.csrf, may_send=may(who.user.role, Action.SEND))
    return templates.TemplateResponse(request, name, context)


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, who: Viewer) -> HTMLResponse:
    tracklog = backends(request).tracklog
    stats = await tracklog.get("/api/v1/stats") or {}
    summary = summarise(stats)
    # The window the figures count (tracklog-svc's last 24 hours, by creation, as the
    # TrackLog's From filters): a partner's link lists the messages its row counts.
    counted = {"since": stats["since"]} if stats.get("since") else {}
    # Failed and refused, as the tile counts them; by last activity, the time the table shows.
    failures = await tracklog.get(
        "/api/v1/messages", {"status": list(FAILED), "sort": "updated_at", "limit": 5}
    )
    needs_look = [h for h in await _health(backends(request)) if h.failing or h.retrying]
    expiring = []
    if summary.expiring:  # where each is used: cert-svc's keystores, asked only then
        keystores = await backends(request).cert.get("/api/v1/keystores") or []
        expiring = expiring_in_keystores(summary.expiring, keystores)
    return page(request, "dashboard.html", who, s=summary, failures=failures["items"],
                needs_look=needs_look, cause_of=cause_of, expiring=expiring, counted=counted,
                active="dashboard")  # fmt: skip


@router.get("/health", response_class=HTMLResponse)
async def partner_health(request: Request, who: Viewer, done: str = "") -> HTMLResponse:
    health = await _health(backends(request))
    return page(request, "health.html", who, health=health, steps=None, tested=None,
                active="health", cause_of=cause_of, done=done)  # fmt: skip


@router.post("/health/retry-now")
async def retry_now(
    request: Request, who: Operator, _form: CheckedForm, partner: Annotated[str, Form()]
) -> Response:
    """The partner's retrying messages go now rather than at their next attempt, once the
    cause is fixed (outbound-svc makes them due); back to Partner health, saying how many."""
    path = f"/api/v1/partners/{quote(partner, safe='')}/retry-now"
    answer = await backends(request).outbound.post(path) or {}
    retried = int(answer.get("retried", 0))
    if retried:  # a click that hurried nothing changed nothing
        entry = retry_now_entry(who.user.email, partner, retried, datetime.now(UTC))
        await wiring.get(request).audit_trail.record(entry)
    plural = "s" if retried != 1 else ""
    said = (
        f"{retried} retrying message{plural} to {partner} will be sent now."
        if retried
        else f"No message to {partner} was waiting for a retry."
    )
    return RedirectResponse(f"/health?{urlencode({'done': said})}", status_code=303)


@router.post("/health/test", response_class=HTMLResponse)
async def connection_test(
    request: Request, who: Operator, _form: CheckedForm, partner: Annotated[str, Form()]
) -> HTMLResponse:
    """Ask outbound-svc (which has the partner's credentials and egress) to reach the partner
    step by step; show each step's result above the health table. The AS2 ID comes as a form
    field, not in the path: it may hold "/", "#", "&" or "+"."""
    b = backends(request)
    path = f"/api/v1/partners/{quote(partner, safe='')}/connection-test"
    steps = await b.outbound.post(path, timeout=60)
    health = await _health(b)
    return page(request, "health.html", who, health=health, steps=steps or [], tested=partner,
                active="health", cause_of=cause_of)  # fmt: skip


async def _health(b: Backends) -> list[PartnerHealth]:
    """Four calls whatever the number of partners: config-svc's partners, tracklog-svc's
    statistics and every partner's latest messages, outbound-svc's limits of every partner.
    Outbound messages only, every figure (see domain/health.py)."""
    partners = await b.config.get("/api/v1/partners") or []
    if not partners:
        return []  # nothing to ask the others about
    stats = await b.tracklog.get("/api/v1/stats") or {}
    rates = {r.partner: r for r in partner_rates(stats, direction="outbound")}
    latest = {h["partner"]: h for h in await b.tracklog.get("/api/v1/partners/health") or []}
    try:
        limits = {p["as2_id"]: p for p in await b.outbound.get("/api/v1/partners/limits") or []}
    except BackendError:
        limits = {}  # outbound-svc away: the rest of the page still stands
    found = []
    for p in sorted(partners, key=lambda p: p["as2_id"]):
        as2_id = p["as2_id"]
        h = latest.get(as2_id, {})  # none: no outbound message to this partner yet
        found.append(PartnerHealth(p, h.get("last_delivered"), h.get("last_failed"),
                                   h.get("waiting", 0), rates.get(as2_id),
                                   limits.get(as2_id), h.get("waiting_by_status", {}),
                                   h.get("last_retrying"), h.get("retrying_since")))  # fmt: skip
    return found


#: How long the "Sent to the gateway" page asks for the request before it stops: tracklog-svc
#: records a request within a second or two, so a minute without it means something is wrong.
SENT_WAIT_SECONDS = 60


@router.get("/sent/{request_id}", response_class=HTMLResponse, response_model=None)
async def sent(request: Request, request_id: str, who: Viewer) -> Response:
    """Where Send File leads: the message's page as soon as tracklog-svc has it. The page
    reloads itself each second, carrying the time it started (``since``), and stops after
    SENT_WAIT_SECONDS with what to do instead of reloading for ever."""
    found = await backends(request).tracklog.get(
        "/api/v1/messages", {"request_id": request_id, "limit": 1}
    )
    if found["items"]:
        return RedirectResponse(f"/tracklog/{found['items'][0]['id']}", status_code=303)
    now = time.time()
    try:
        since = min(float(request.query_params.get("since", now)), now)
    except ValueError:
        since = now
    refresh = f"/sent/{quote(request_id, safe='')}?since={since:.0f}"
    return page(request, "sent.html", who, request_id=request_id, refresh=refresh,
                waited_too_long=now - since >= SENT_WAIT_SECONDS,
                wait_seconds=SENT_WAIT_SECONDS)  # fmt: skip


@router.get("/send", response_class=HTMLResponse)
async def send_form(
    request: Request, who: Operator, station: str = "", partner: str = ""
) -> HTMLResponse:
    """``station`` and ``partner`` (AS2 IDs; a refused request's page links here with them)
    choose the partnership; one not enabled is said, not replaced by the first."""
    partnerships = await backends(request).enabled_partnerships()
    if not (station or partner):
        return await _send_page(request, who, partnerships, error=None)
    chosen = next(
        (p["id"] for p in partnerships
         if (p["station_as2_id"], p["partner_as2_id"]) == (station, partner)),
        None,
    )  # fmt: skip
    if chosen is None:
        notice = f"There is no enabled partnership from {station} to {partner}: choose one."
        return await _send_page(request, who, partnerships, error=None, notice=notice)
    return await _send_page(request, who, partnerships, error=None, partnership=chosen)


async def _send_page(
    request: Request,
    who: Any,
    partnerships: Any,
    error: str | None,
    notice: str | None = None,
    **typed: str,
) -> HTMLResponse:
    """The form; after a refusal with what was typed (``partnership``, ``subject``,
    ``content_type``), so a second try goes to the same partner. Files cannot come back: a
    browser never lets a page fill a file input. Partners with messages waiting for a retry
    are named above it: a file sent to one now waits too."""
    return page(request, "send.html", who, partnerships=partnerships, error=error,
                notice=notice, typed=typed, max_files=MAX_ATTACHMENTS,
                retrying=await _retrying(request, partnerships))  # fmt: skip


async def _retrying(request: Request, partnerships: Any) -> list[dict[str, Any]]:
    """tracklog-svc's health of the partners of ``partnerships`` that have messages retrying;
    none when it does not answer (the form still stands)."""
    partners = {p["partner_as2_id"] for p in partnerships}
    try:
        health = await backends(request).tracklog.get("/api/v1/partners/health") or []
    except BackendError:
        return []
    return [
        h for h in health
        if h["partner"] in partners and h.get("waiting_by_status", {}).get("retrying")
    ]  # fmt: skip


@router.post("/send", response_model=None)
async def send_file(
    request: Request,
    who: Operator,
    _form: CheckedForm,
    partnership: Annotated[str, Form()],
    files: Annotated[list[UploadFile | str] | None, File(alias="file")] = None,
    subject: Annotated[str, Form()] = "",
    content_type: Annotated[str, Form()] = "",
) -> Response:
    """One or more files as one AS2 message (RFC 6362 multiple attachments): the first is the
    message's document, the others follow in the order chosen. The content type given applies
    to the first; otherwise a file keeps the browser's type or, when that says nothing, gets
    the one its content says (``Upload.from_browser``)."""
    partnerships = await backends(request).enabled_partnerships()
    chosen = next((p for p in partnerships if p["id"] == partnership), None)
    # A file input left empty still sends a part, without a file name: "" here.
    chosen_files = [f for f in files or [] if not isinstance(f, str)]
    error = None
    if chosen is None:
        error = "choose one of the enabled partnerships"
    else:
        error = _upload_problem(chosen_files, wiring.get(request).max_upload_bytes)
    content_type = content_type.strip()
    if error is None and _one_line_problem(subject):
        error = "the subject must be one line: take out its line breaks"
    if error is None and content_type and (problem := mime_type_problem(content_type)):
        error = f"content type {problem}"  # the send request's own rule, before anything is stored
    if error is not None:
        return await _send_page(request, who, partnerships, error, partnership=partnership,
                          subject=subject, content_type=content_type)  # fmt: skip
    assert chosen is not None
    uploads = [
        Upload(f.file, f.size or 0, f.filename, content_type) if i == 0 and content_type
        else Upload.from_browser(f.file, f.size or 0, f.filename, f.content_type)
        for i, f in enumerate(chosen_files)
    ]  # fmt: skip
    sender = wiring.get(request).sender
    request_id = await sender.send_files(
        uploads,
        station=chosen["station_as2_id"],
        partner=chosen["partner_as2_id"],
        subject=subject or None,  # none: the partner's default subject
    )
    names = [u.filename or "(no name)" for u in uploads]
    entry = send_entry(who.user.email, chosen["station_as2_id"], chosen["partner_as2_id"], names,
                       subject or None, request_id, datetime.now(UTC))  # fmt: skip
    await wiring.get(request).audit_trail.record(entry)
    return RedirectResponse(f"/sent/{request_id}", status_code=303)


def _one_line_problem(value: str) -> bool:
    """A line break would end the AS2 message's header it goes in (Subject, the file name's
    Content-Disposition): every attempt to send would fail, so it is refused at the form."""
    return "\r" in value or "\n" in value


def _upload_problem(files: list[UploadFile], limit: int) -> str | None:
    """What is wrong with the files chosen, in one sentence; None when nothing is."""
    if not files:
        return "choose at least one file"
    if len(files) > MAX_ATTACHMENTS:
        return f"{len(files)} files chosen: one message holds at most {MAX_ATTACHMENTS}"
    for f in files:
        if not f.size:
            return f"{f.filename or 'a file'} is empty"
        if _one_line_problem(f.filename or ""):  # only a hand-made request, not a browser
            return "a file name must be one line: rename the file without line breaks"
    total = sum(f.size or 0 for f in files)
    if total > limit:
        what = "the file has" if len(files) == 1 else f"the {len(files)} files have"
        together = "" if len(files) == 1 else " together"
        return f"{what} {total} bytes{together}; the console accepts up to {limit}"
    return None
