"""The keystore page's forms: rotation (the partner's new certificate; our new one, generated
or imported), each with its switch time and overlap window, for admins; and a test message
through the partnership, for operators too, once confirmed on a page of its own (it reaches the
partner, as Resend does). Every form carries its CSRF token; a refusal shows the page again
with cert-svc's reasons next to the form's fields and what was typed (never a password or a
file)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from as2bus.console.adapters.backends import Change
from as2bus.console.adapters.cert_service import read_upload
from as2bus.console.domain.certificate_forms import (
    FormError,
    FormProblems,
    Switch,
    problems,
    switch,
)
from as2bus.console.domain.certificates import KeystoreShown
from as2bus.console.entrypoints.guard import Admin, CheckedForm, Operator
from as2bus.console.entrypoints.keystore_pages import (
    certs_for,
    keystore_of,
    keystore_page,
    missing,
)
from as2bus.console.entrypoints.pages import backends, page
from as2bus.console.wiring import wiring

router = APIRouter()
#: The page's forms and their fields, where refusals are shown.
PARTNER_FIELDS = ("file", "entry", "password", "activation_at", "overlap_days")
#: A file named so is a PKCS#12 keystore: cert-svc can read it only with its password.
_PKCS12_NAMES = (".p12", ".pfx")
GENERATE_FIELDS = ("key_bits", "validity_days", "activation_at", "overlap_days")
IMPORT_FIELDS = ("file", "password", "key_alias", "activation_at", "overlap_days")
SWITCH_NOTE = "The table shows when it takes over and until when the previous one is accepted."
SEND_OURS = ("Send the partner its public certificate (the Public certificate link of the new "
             "row) before it takes over.")  # fmt: skip
SEND_OURS_NOW = ("It is in use now: send the partner its public certificate (the Public "
                 "certificate link of the new row) at once, since the partner cannot check our "
                 "signatures without it.")  # fmt: skip

When = Annotated[str, Form()]  # a datetime-local value, in the zone of the form's tz
Text = Annotated[str, Form()]
FileField = Annotated[UploadFile | None, File()]


@router.post("/certificates/{keystore_id}/partner", response_model=None)
async def upload_partner_certificate(
    request: Request,
    keystore_id: str,
    who: Admin,
    _form: CheckedForm,
    file: FileField = None,
    entry: Text = "",
    password: Text = "",
    activation_at: When = "",
    overlap_days: Text = "",
    tz: Text = "",
) -> Response:
    """The partner's new certificate under its alias: a rotation, the previous one accepted
    until the overlap window ends. From a PKCS#12 file (OpenAS2's as2_certs.p12) with its
    password, and the partner's entry when it holds several certificates."""
    found = await keystore_of(request, who, keystore_id)
    if found is None:
        return missing(request, who, f"keystore {keystore_id}")
    typed = {**_switch_typed(activation_at, overlap_days), "entry": entry}
    certificate = await read_upload(file)
    try:
        if certificate is None:
            raise FormError("file", "choose the partner's new certificate (PEM or DER)")
        if certificate.filename.lower().endswith(_PKCS12_NAMES) and not password:
            raise FormError("password", f"{certificate.filename} is a PKCS#12 file: give its "
                            "password (and the partner's entry if it holds several)")  # fmt: skip
        when = switch(activation_at, overlap_days, tz, datetime.now(UTC))
    except FormError as err:
        return await _refused(request, who, found, "partner", {err.field: err.message}, typed)
    cert = certs_for(request, who)
    p12 = {"password": password or None, "entry": entry.strip() or None}
    change = await cert.upload_partner(found.partner_cert_alias, certificate, when, **p12)
    return await _answer(request, who, found, change, "partner", PARTNER_FIELDS, typed,
                         f"The partner's new certificate is stored. {SWITCH_NOTE}")  # fmt: skip


@router.post("/certificates/{keystore_id}/rotate", response_model=None)
async def generate_ours(
    request: Request,
    keystore_id: str,
    who: Admin,
    _form: CheckedForm,
    key_bits: Text = "2048",
    validity_days: Text = "730",
    activation_at: When = "",
    overlap_days: Text = "",
    tz: Text = "",
) -> Response:
    """A new key pair and self-signed certificate of ours for this partnership."""
    found = await keystore_of(request, who, keystore_id)
    if found is None:
        return missing(request, who, f"keystore {keystore_id}")
    typed = {"key_bits": key_bits, "validity_days": validity_days,
             **_switch_typed(activation_at, overlap_days)}  # fmt: skip
    now = datetime.now(UTC)
    try:
        body: dict[str, Any] = {
            "key_bits": _whole(key_bits, "key_bits"),
            "validity_days": _whole(validity_days, "validity_days"),
        }
        when = switch(activation_at, overlap_days, tz, now)
    except FormError as err:
        return await _refused(request, who, found, "generate", {err.field: err.message}, typed)
    change = await certs_for(request, who).rotate(found.id, {**body, **when.form_fields()})
    done = f"Our new certificate is generated. {SWITCH_NOTE} {_send_ours(when, now)}"
    return await _answer(request, who, found, change, "generate", GENERATE_FIELDS, typed, done)


@router.post("/certificates/{keystore_id}/rotate/import", response_model=None)
async def import_ours(
    request: Request,
    keystore_id: str,
    who: Admin,
    _form: CheckedForm,
    file: FileField = None,
    password: Text = "",
    key_alias: Text = "",
    activation_at: When = "",
    overlap_days: Text = "",
    tz: Text = "",
) -> Response:
    """Our new key and certificate from a PKCS#12 file."""
    found = await keystore_of(request, who, keystore_id)
    if found is None:
        return missing(request, who, f"keystore {keystore_id}")
    typed = {"key_alias": key_alias, **_switch_typed(activation_at, overlap_days)}
    now = datetime.now(UTC)
    p12 = await read_upload(file)
    try:
        if p12 is None:
            raise FormError("file", "choose our PKCS#12 file (.p12 or .pfx)")
        when = switch(activation_at, overlap_days, tz, now)
    except FormError as err:
        return await _refused(request, who, found, "import", {err.field: err.message}, typed)
    fields = {"password": password, **({"key_alias": key_alias} if key_alias else {})}
    change = await certs_for(request, who).rotate_import(found.id, fields, p12, when)
    return await _answer(request, who, found, change, "import", IMPORT_FIELDS, typed,
                         f"Our new certificate is imported. {SWITCH_NOTE} "
                         f"{_send_ours(when, now)}")  # fmt: skip


@router.get("/certificates/{keystore_id}/test", response_class=HTMLResponse)
async def confirm_test_message(request: Request, keystore_id: str, who: Operator) -> HTMLResponse:
    """A test message reaches the partner (perhaps in production): this page asks first, as
    Resend does, and says at once when the partnership cannot send."""
    found = await keystore_of(request, who, keystore_id)
    if found is None:
        return missing(request, who, f"keystore {keystore_id}")
    return _test_page(request, who, found, await _cannot_send(request, found))


@router.post("/certificates/{keystore_id}/test", response_model=None)
async def send_test_message(
    request: Request, keystore_id: str, who: Operator, _form: CheckedForm
) -> Response:
    """A small text document through the partnership, then (as Send File) its message's page
    as soon as tracklog-svc knows it."""
    found = await keystore_of(request, who, keystore_id)
    if found is None:
        return missing(request, who, f"keystore {keystore_id}")
    if cannot := await _cannot_send(request, found):
        answer = _test_page(request, who, found, cannot)
        answer.status_code = 422
        return answer
    now = datetime.now(UTC)
    document = (
        f"as2bus test message from {found.station} to {found.partner}, sent by "
        f"{who.user.email} at {now.isoformat(timespec='seconds')}\r\n"
    ).encode()
    sender = wiring.get(request).sender
    request_id = await sender.send_file(
        io.BytesIO(document),
        len(document),
        station=found.station,
        partner=found.partner,
        filename=f"as2bus-test-{now:%Y%m%dT%H%M%SZ}.txt",
        content_type="text/plain",
        subject="as2bus test message",
    )
    return RedirectResponse(f"/sent/{request_id}", status_code=303)


async def _cannot_send(request: Request, keystore: KeystoreShown) -> str:
    """Why the partnership cannot send now, or ""."""
    enabled = await backends(request).enabled_partnerships()
    pair = (keystore.station, keystore.partner)
    if any((p["station_as2_id"], p["partner_as2_id"]) == pair for p in enabled):
        return ""
    return (f"{keystore.station} → {keystore.partner} cannot send: the partnership or its "
            "partner is disabled, or the partnership is gone")  # fmt: skip


def _test_page(request: Request, who: Any, keystore: KeystoreShown, error: str) -> HTMLResponse:
    return page(request, "keystore_test.html", who, active="certificates", k=keystore,
                error=error)  # fmt: skip


def _switch_typed(activation_at: str, overlap_days: str) -> dict[str, str]:
    return {"activation_at": activation_at, "overlap_days": overlap_days}


def _send_ours(when: Switch, now: datetime) -> str:
    """What to do with our new certificate: true whether it takes over later or already."""
    return SEND_OURS_NOW if when.takes_over_now(now) else SEND_OURS


def _whole(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FormError(field, "give a whole number") from None


async def _refused(
    request: Request,
    who: Any,
    keystore: KeystoreShown,
    form: str,
    errors: dict[str, str],
    typed: dict[str, str],
) -> Response:
    return await keystore_page(request, who, keystore, FormProblems(form, errors, typed))


async def _answer(
    request: Request,
    who: Any,
    keystore: KeystoreShown,
    change: Change,
    form: str,
    fields: tuple[str, ...],
    typed: dict[str, str],
    sentence: str,
) -> Response:
    """Back to the page: with what was done and cert-svc's warnings (a redirect, so that a
    reload sends nothing again), or with cert-svc's refusal next to the form's fields."""
    if not change.ok:
        refused = problems(form, change.errors, fields, typed=typed)
        return await keystore_page(request, who, keystore, refused)
    warnings = [f"Note: {w}." for w in (change.body or {}).get("warnings") or []]
    query = urlencode({"done": " ".join([sentence, *warnings])})
    return RedirectResponse(f"/certificates/{keystore.id}?{query}", status_code=303)
