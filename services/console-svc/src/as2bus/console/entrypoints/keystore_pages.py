"""A partnership's keystore page: both sides' certificates with their state and downloads,
which certificate the recent messages used, and the forms of keystore_changes.py (rotation,
test message). Every role reads; the .p12 downloads (our private key) are for admins."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from as2bus.console.adapters.backends import Backend, BackendError
from as2bus.console.adapters.cert_service import CertClient, KeystoreFile
from as2bus.console.domain.access_audit import keystore_export_entry
from as2bus.console.domain.certificate_forms import FormProblems
from as2bus.console.domain.certificate_usage import MessageCertificates, certificates_used
from as2bus.console.domain.certificates import KeystoreShown, keystore_shown
from as2bus.console.domain.roles import Action, may
from as2bus.console.entrypoints.guard import Admin, Viewer
from as2bus.console.entrypoints.pages import backends, page
from as2bus.console.wiring import wiring

router = APIRouter()
#: How many of the partnership's latest messages the page shows with their certificates.
RECENT_MESSAGES = 10


def certs_for(request: Request, who: Any) -> CertClient:
    return CertClient(backends(request).cert, who.user.email)


async def keystore_of(request: Request, who: Any, keystore_id: str) -> KeystoreShown | None:
    """cert-svc's keystore, None when there is none (or the id is not one)."""
    try:
        uuid.UUID(keystore_id)
    except ValueError:
        return None
    view = await certs_for(request, who).keystore(keystore_id)
    return None if view is None else keystore_shown(view)


def missing(request: Request, who: Any, what: str) -> HTMLResponse:
    answer = page(request, "missing.html", who, what=what)
    answer.status_code = 404
    return answer


async def keystore_page(
    request: Request,
    who: Any,
    keystore: KeystoreShown,
    refused: FormProblems | None = None,
) -> HTMLResponse:
    """The page; after a refused form, with cert-svc's reasons next to its fields (422)."""
    recent, tracklog_error = await _recent_messages(backends(request).tracklog, keystore)
    answer = page(request, "keystore.html", who, active="certificates", k=keystore,
                  recent=recent, tracklog_error=tracklog_error,
                  problems=refused or FormProblems(),
                  is_admin=may(who.user.role, Action.CONFIGURE),
                  done=request.query_params.get("done", ""))  # fmt: skip
    if refused is not None:
        answer.status_code = 422
    return answer


async def _recent_messages(
    tracklog: Backend, keystore: KeystoreShown
) -> tuple[list[MessageCertificates], str]:
    """The partnership's latest messages with the certificates they used; without them (and
    why) when tracklog-svc does not answer: the certificates still show."""
    try:
        query = {"station": keystore.station, "partner": keystore.partner,
                 "limit": RECENT_MESSAGES}  # fmt: skip
        listed = await tracklog.get("/api/v1/messages", query) or {}
        refs = [m["id"] for m in listed.get("items", [])]
        details = await asyncio.gather(*(tracklog.get(f"/api/v1/messages/{r}") for r in refs))
    except BackendError as err:
        return [], str(err)
    known = [*keystore.own, *keystore.partner_certificates]
    return [certificates_used(d, known) for d in details if d is not None], ""


# --- reading ---------------------------------------------------------------------------------
@router.get("/certificates/{keystore_id}", response_class=HTMLResponse)
async def keystore(request: Request, keystore_id: str, who: Viewer) -> HTMLResponse:
    found = await keystore_of(request, who, keystore_id)
    if found is None:
        return missing(request, who, f"keystore {keystore_id}")
    return await keystore_page(request, who, found)


@router.get("/certificates/{keystore_id}/keystore.p12", response_model=None)
async def complete_keystore(request: Request, keystore_id: str, who: Admin) -> Response:
    """Our private key and certificate with the partner's, under the keystore password: for
    our own backup or another AS2 server of ours, never for a partner."""
    return await _download(request, who, keystore_id, "keystore.p12")


@router.get("/certificates/{keystore_id}/partner.p12", response_model=None)
async def partner_keystore(request: Request, keystore_id: str, who: Admin) -> Response:
    return await _download(request, who, keystore_id, "partner.p12")


@router.get("/certificates/{keystore_id}/certificate.cer", response_model=None)
async def public_certificate(request: Request, keystore_id: str, who: Viewer) -> Response:
    """Our public certificate in use: what a partner needs from us."""
    return await _download(request, who, keystore_id, "certificate.cer")


@router.get("/certificates/{keystore_id}/certificate/{cert_id}", response_model=None)
async def one_certificate(
    request: Request, keystore_id: str, cert_id: str, who: Viewer
) -> Response:
    """One certificate's public part (e.g. our next one, to send the partner before it takes
    over); only the keystore's own."""
    found = await keystore_of(request, who, keystore_id)
    if found is None or cert_id not in {c.id for c in (*found.own, *found.partner_certificates)}:
        return missing(request, who, f"certificate {cert_id} of keystore {keystore_id}")
    file = await certs_for(request, who).certificate_file(cert_id)
    if file is None:
        return missing(request, who, f"certificate {cert_id}")
    return _attachment(file.content, file.media_type, file.filename)


async def _download(request: Request, who: Any, keystore_id: str, name: KeystoreFile) -> Response:
    found = await keystore_of(request, who, keystore_id)
    if found is None:
        return missing(request, who, f"keystore {keystore_id}")
    # cert-svc exports the certificates in service only (it answers 409 otherwise): say so
    # in words rather than pass on a refusal.
    side = found.theirs if name == "partner.p12" else found.ours
    if side is None or side.state == "scheduled":
        lacking = (
            "partner certificate in service yet: upload it"
            if name == "partner.p12"
            else "certificate of ours in service: generate or import one"
        )
        answer = page(request, "problem.html", who, title="Nothing to download yet",
                      detail=f"{found.station} → {found.partner} has no {lacking} on its "
                      "keystore page.")  # fmt: skip
        answer.status_code = 409
        return answer
    file = await certs_for(request, who).keystore_file(keystore_id, name)
    if file is None:
        return missing(request, who, f"keystore {keystore_id}")
    if name != "certificate.cer":  # a .p12: the audit trail says who took a copy, and when
        entry = keystore_export_entry(who.user.email, found.station, found.partner, name,
                                      datetime.now(UTC))  # fmt: skip
        await wiring.get(request).audit_trail.record(entry)
    return _attachment(file.content, file.media_type, file.filename)


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
               "Cache-Control": "no-store"}  # fmt: skip
    return Response(content, media_type=media_type, headers=headers)
