"""A message's pages: the message itself (what happened, what to do, what to download), its
downloads (the object store's copies, or outbound-svc's of a document sent inline) and Resend.
Registered after pages.py's router: ``/tracklog/live`` and ``/tracklog.csv`` come first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from as2bus.console.adapters.backends import BackendError, BackendRefused
from as2bus.console.adapters.kept import http_head
from as2bus.console.adapters.sending import ResendError
from as2bus.console.adapters.sent_documents import RETENTION_OVER, SentDocument, SentDocuments
from as2bus.console.domain.access_audit import resend_entry
from as2bus.console.domain.attempts import attempts, request_record
from as2bus.console.domain.downloads import DOWNLOADS, as_sent_missing, why_missing
from as2bus.console.domain.in_flight import in_flight, page_follows
from as2bus.console.domain.mdn import mdn_record
from as2bus.console.domain.message_cause import (
    message_cause,
    parties_in_question,
)
from as2bus.console.domain.milestones import milestones
from as2bus.console.domain.resends import AGAIN_LABEL, Resends, new_token, refusal, request_id_of
from as2bus.console.domain.timeline import timeline_steps
from as2bus.console.entrypoints.guard import CheckedForm, Operator, Viewer
from as2bus.console.entrypoints.pages import backends, documents, page
from as2bus.console.wiring import wiring
from as2bus.contracts import DocumentRef
from as2bus.shared.party_names import PartyCheck

router = APIRouter()


async def _known_parties(request: Request, detail: dict[str, Any]) -> PartyCheck | None:
    """For a message refused for its AS2 IDs, what config-svc knows of them now (the advice
    depends on which one we do not have); None for another message, or when config-svc does
    not answer (the page then gives the general advice)."""
    named = parties_in_question(detail)
    if named is None:
        return None
    config = backends(request).config
    try:
        stations = [s["as2_id"] for s in await config.get("/api/v1/stations") or []]
        partners = [p["as2_id"] for p in await config.get("/api/v1/partners") or []]
    except BackendError:
        return None
    return PartyCheck.of(*named, stations, partners)


@router.get("/tracklog/{ref}", response_class=HTMLResponse)
async def message(request: Request, ref: str, who: Viewer) -> HTMLResponse:
    detail = await _message(request, ref)
    if detail is None:
        return _missing(request, who, f"message {ref}")
    cause = message_cause(detail, await _known_parties(request, detail))
    tracklog = backends(request).tracklog
    original = None
    if detail.get("replays"):
        found = await tracklog.get("/api/v1/messages", {"message_id": detail["replays"]})
        original = next(iter(found["items"]), None)
    resends = await _resends(request, detail)
    sent = await _sent_documents(request, detail)
    # Offered only when it can work: every document still kept (or outbound-svc away just
    # now, when the resend's own answer says why).
    resendable = (
        detail["direction"] == "outbound"
        and detail["status"] in RESENDABLE
        and not any(d.missing for d in sent or [])
    )
    timeline = detail.get("timeline", [])
    record = request_record(timeline)
    mdn = mdn_record(timeline) if detail["direction"] == "outbound" else None
    mdn_headers = None
    if mdn is not None and detail.get("mdn_raw"):
        kept_mdn = DocumentRef.model_validate(detail["mdn_raw"])
        mdn_headers = await http_head(documents(request), kept_mdn)
    certificates: dict[str, dict[str, Any]] = {"own": {}, "partner": {}}
    if (record and (record.signed_with or record.encrypted_for)) or (mdn and mdn.verified_with):
        known = await tracklog.get("/api/v1/certificates") or []
        # Ours sign, the partner's encrypt (a loopback demo has the same certificate as both).
        certificates = {
            kind: {c["fingerprint_sha256"]: c for c in known if c["kind"] == kind}
            for kind in ("own", "partner")
        }
    # While it (or a resend of it) is on its way, console.js fetches the page again.
    follows = page_follows(detail, resends.items)
    return page(request, "message.html", who, m=detail, cause=cause, original=original,
                resends=resends, resendable=resendable, sent=sent, attempts=attempts(timeline),
                record=record, mdn=mdn, mdn_headers=mdn_headers, certificates=certificates,
                milestones=milestones(detail), timeline=timeline_steps(detail),
                follows=follows, in_flight=in_flight(detail),
                as_sent_missing=as_sent_missing(detail, record is not None))  # fmt: skip


async def _resends(request: Request, detail: dict[str, Any]) -> Resends:
    """The messages sent again from ``detail`` (tracklog-svc links each by ``replays``)."""
    if not detail.get("message_id"):
        return Resends([])
    found = await backends(request).tracklog.get(
        "/api/v1/messages", {"replays": detail["message_id"], "limit": 500}
    )
    return Resends.of(found["items"])


@router.get("/tracklog/{ref}/download/{what}", response_model=None)
async def download(request: Request, ref: str, what: str, who: Viewer) -> Response:
    """The message's document, the AS2 message as sent or received, or the partner's MDN as
    received (headers and body, byte for byte: the non-repudiation records), streamed from the
    object store; a document we sent inline, from outbound-svc, which keeps it."""
    if what not in DOWNLOADS:
        return _missing(request, who, f"{what} to download for message {ref}")
    detail = await _message(request, ref)
    if detail is None:
        return _missing(request, who, f"message {ref}")
    if what == "document":
        name, media = detail.get("filename") or "document", detail.get("content_type")
    else:
        name, media = f"{'mdn' if what == 'mdn' else 'as2-message'}-{ref}.eml", "message/rfc822"
    kept = _kept(detail, what)
    if kept is None and what == "document" and _sent_inline(detail):
        return await _from_outbound(request, who, detail, 1, name, media)
    if kept is None:
        recorded = request_record(detail.get("timeline", [])) is not None
        why = why_missing(detail, what, recorded)
        return _gone(request, who, f"There is no {what} to download: {why}.")
    return await _stream_kept(request, who, kept, what, name, media)


@router.get("/tracklog/{ref}/download/attachment/{number}", response_model=None)
async def download_attachment(request: Request, ref: str, number: str, who: Viewer) -> Response:
    """One of a message's documents after the first (RFC 6362 multiple
    attachments; ``number`` from 1), streamed from the object store or outbound-svc like the
    first."""
    if not (number.isascii() and number.isdigit()):  # a damaged link: not found, no raw 422
        return _missing(request, who, f"document {number} of message {ref}")
    position = int(number)
    detail = await _message(request, ref)
    if detail is None:
        return _missing(request, who, f"message {ref}")
    attached: list[dict[str, Any]] = detail.get("attachments") or []
    if not 1 <= position <= len(attached):
        return _missing(request, who, f"document {position + 1} of message {ref}")
    found = attached[position - 1]
    name = found.get("filename") or f"document-{position + 1}"
    if not found.get("document"):
        if not _sent_inline(detail):
            return _missing(request, who, f"document {position + 1} of message {ref}")
        return await _from_outbound(request, who, detail, position + 1, name,
                                    found.get("content_type"))  # fmt: skip
    return await _stream_kept(request, who, found["document"], "document", name,
                              found.get("content_type"))  # fmt: skip


async def _stream_kept(
    request: Request, who: Any, kept: dict[str, Any], what: str, name: str, media: str | None
) -> Response:
    """A kept object as a download named ``name``; 410 when its retention is over."""
    store = documents(request)
    ref_ = DocumentRef.model_validate(kept)
    if await store.stored(ref_.name) is None:
        return _gone(request, who, f"The {what} is no longer kept: its retention is over "
                     "(docs/integrating.md, \"How long documents stay\").")  # fmt: skip
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return StreamingResponse(store.chunks(ref_), media_type=media or "application/octet-stream",
                             headers={"Content-Disposition": disposition})  # fmt: skip


def _sent(request: Request) -> SentDocuments:
    return SentDocuments(documents(request), backends(request).outbound)


def _sent_inline(detail: dict[str, Any]) -> bool:
    """A message we sent whose documents without a reference were sent inline: outbound-svc
    keeps those (a request it refused at once has none)."""
    return (
        detail["direction"] == "outbound"
        and detail["status"] != "rejected"
        and bool(detail.get("message_id"))
    )


async def _sent_documents(request: Request, detail: dict[str, Any]) -> list[SentDocument] | None:
    """What is still kept of a message we sent, for its downloads and Resend; None for a
    received or refused one, and when outbound-svc cannot be asked just now (the page still
    stands: a download or resend followed then says why)."""
    if not _sent_inline(detail):
        return None
    try:
        return await _sent(request).of(detail)
    except BackendError:
        return None


async def _from_outbound(
    request: Request, who: Any, detail: dict[str, Any], number: int, name: str, media: str | None
) -> Response:
    """A document sent inline, read from outbound-svc (which keeps it in its database), as a
    download named ``name``; 410 when its retention is over."""
    kept = await _sent(request).read(detail["message_id"], number)
    if kept is None:
        return _gone(request, who, f"The document {RETENTION_OVER} (docs/integrating.md, "
                     "\"How long documents stay\").")  # fmt: skip
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(kept.content, media_type=media or kept.media_type,
                    headers={"Content-Disposition": disposition})  # fmt: skip


def _kept(detail: dict[str, Any], what: str) -> dict[str, Any] | None:
    """The object-store reference of a download, None when there is none."""
    if what == "message":
        record = request_record(detail.get("timeline", []))
        return record.raw if record is not None else None
    found: dict[str, Any] | None = detail.get("document" if what == "document" else "mdn_raw")
    return found


async def _message(request: Request, ref: str) -> dict[str, Any] | None:
    """tracklog-svc's message ``ref``; None when there is none, and when tracklog-svc refuses
    the ref itself (422: not one of its ids, a damaged or hand-edited link): the page then
    says "not found" rather than blaming a service."""
    try:
        found: dict[str, Any] | None = await backends(request).tracklog.get(
            f"/api/v1/messages/{quote(ref, safe='')}"
        )
    except BackendRefused as refused:
        if refused.status != 422:
            raise
        return None
    return found


def _missing(request: Request, who: Any, what: str) -> HTMLResponse:
    answer = page(request, "missing.html", who, what=what)
    answer.status_code = 404
    return answer


def _gone(request: Request, who: Any, detail: str) -> HTMLResponse:
    answer = page(request, "problem.html", who, title="Not available", detail=detail)
    answer.status_code = 410
    return answer


#: Statuses a message may be sent again from: settled, one way or the other.
RESENDABLE = ("failed", "delivered", "delivered-with-warnings")


@router.get("/tracklog/{ref}/resend", response_class=HTMLResponse)
async def resend_form(request: Request, ref: str, who: Operator) -> HTMLResponse:
    """Resending is an explicit action: this page asks for the confirmation (warning when a
    resend already reached the partner or is on its way), or says why the message cannot be
    sent again (then with nothing to confirm)."""
    detail = await _message(request, ref)
    if detail is None:
        return _missing(request, who, f"message {ref}")
    error = _not_resendable(detail)
    if error is None and detail["direction"] == "outbound":
        sent = await _sent(request).of(detail)
        error = next((f"{d.called} {d.missing}" for d in sent if d.missing), None)
    return _resend_page(request, who, detail, await _resends(request, detail), error=error)


@router.post("/tracklog/{ref}/resend", response_model=None)
async def resend(
    request: Request,
    ref: str,
    who: Operator,
    _form: CheckedForm,
    seen: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    again: Annotated[str, Form()] = "",
) -> Response:
    """Sends when the confirmation still stands: no resend made since it was shown
    (``seen``), and "Send another copy anyway" ticked (``again``) when one reached the
    partner or is on its way; otherwise the confirmation again, saying why nothing was sent
    (domain/resends.py). The form's ``token`` makes the request id."""
    detail = await _message(request, ref)
    if detail is None:
        return _missing(request, who, f"message {ref}")
    resends = await _resends(request, detail)
    error = _not_resendable(detail)
    if error is not None:
        return _resend_page(request, who, detail, resends, error=error)
    refused = refusal(resends, seen, token, again == "yes")
    if refused is not None:
        return _resend_page(request, who, detail, resends, refused=refused, status_code=409)
    sender = wiring.get(request).sender
    try:
        request_id = await sender.resend(detail, request_id_of(token))
    except ResendError as err:
        return _resend_page(request, who, detail, resends, error=str(err))
    entry = resend_entry(who.user.email, detail["station"], detail["partner"],
                         detail["message_id"], request_id, datetime.now(UTC))  # fmt: skip
    await wiring.get(request).audit_trail.record(entry)
    return RedirectResponse(f"/sent/{request_id}", status_code=303)


def _resend_page(
    request: Request,
    who: Any,
    detail: dict[str, Any],
    resends: Resends,
    *,
    error: str | None = None,
    refused: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The confirmation, with a new one-time token and the resends it shows; never cached,
    so the browser's Back button asks for it again and it says what happened since."""
    answer = page(request, "resend.html", who, m=detail, error=error, refused=refused,
                  resends=resends, token=new_token(), again_label=AGAIN_LABEL)  # fmt: skip
    answer.status_code = status_code
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _not_resendable(detail: dict[str, Any]) -> str | None:
    """Why a message's status does not let it be sent again; None when it does."""
    if detail["status"] not in RESENDABLE:
        return f"it is {detail['status']}: only a failed or delivered message is sent again"
    return None
