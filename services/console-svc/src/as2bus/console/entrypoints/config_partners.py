"""Partner: our trading partners and their AS2 settings, listed, created, edited, switched on
and off and deleted through config-svc. Everybody signed in reads them; admins change them.
The form ↔ JSON mapping (secrets write-only) is domain/partner_form.py; what the others read
instead of the form, domain/partner_facts.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from as2bus.console.domain import partner_form
from as2bus.console.domain.partner_facts import partner_facts
from as2bus.console.domain.partner_form import (
    NEW_PARTNER,
    partner_body,
    partner_errors,
    partner_values,
    stored_secrets,
    typed_back,
)
from as2bus.console.domain.partner_tls_form import stored_certificates
from as2bus.console.entrypoints.config_common import (
    config,
    confirm_off,
    done,
    entity,
    is_admin,
    missing,
    posted,
    refusal,
    view,
)
from as2bus.console.entrypoints.guard import Admin, CheckedForm, Viewer
from as2bus.shared.partner_warnings import partner_warnings

router = APIRouter()


async def _listed(request: Request) -> list[dict[str, Any]]:
    partners = await config(request).get("/api/v1/partners") or []
    return sorted(partners, key=lambda p: p["as2_id"].lower())


@router.get("/partners", response_class=HTMLResponse)
async def partners(request: Request, who: Viewer) -> HTMLResponse:
    return view(request, who, "partners.html", active="partners", partners=await _listed(request),
                error=None)  # fmt: skip


@router.get("/partners/new", response_class=HTMLResponse)
async def new_partner(request: Request, who: Admin) -> HTMLResponse:
    return await _form_page(request, who, None, dict(NEW_PARTNER))


@router.post("/partners", response_model=None)
async def create_partner(request: Request, who: Admin, _form: CheckedForm) -> Response:
    form = await posted(request)
    body, mistakes = partner_body(form, None)
    if mistakes:
        return await _form_page(request, who, None, typed_back(form), mistakes, status=422)
    answer = await config(request).change(
        "POST", "/api/v1/partners", actor=who.user.email, json=body
    )
    if answer.ok:
        return done(
            "/partners", _with_warnings(f"Partner {answer.body['as2_id']} created.", answer.body)
        )
    return await _form_page(request, who, None, typed_back(form), answer.errors, answer.status)


@router.get("/partners/{ref}", response_class=HTMLResponse)
async def partner(request: Request, ref: str, who: Viewer) -> HTMLResponse:
    state = await entity(request, "partners", ref)
    if state is None:
        return missing(request, who, f"partner {ref}")
    if not is_admin(who):  # the settings to read, not a disabled form
        return view(request, who, "partner_facts.html", active="partners", partner=state,
                    groups=partner_facts(state, datetime.now(UTC)),
                    partnerships=await _partnerships(request, state))  # fmt: skip
    return await _form_page(request, who, state, partner_values(state))


@router.post("/partners/{ref}", response_model=None)
async def update_partner(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, "partners", ref)
    if state is None:
        return missing(request, who, f"partner {ref}")
    form = await posted(request)
    body, mistakes = partner_body(form, state)
    if mistakes:
        return await _form_page(request, who, state, typed_back(form), mistakes, status=422)
    if not body:
        return done(f"/partners/{ref}", "Nothing to save: no setting was changed.")
    answer = await config(request).change(
        "PATCH", f"/api/v1/partners/{ref}", actor=who.user.email, json=body
    )
    if answer.ok:
        return done(
            "/partners", _with_warnings(f"Partner {answer.body['as2_id']} saved.", answer.body)
        )
    return await _form_page(request, who, state, typed_back(form), answer.errors, answer.status)


def _with_warnings(told: str, partner: dict[str, Any]) -> str:
    """What a save says, and then what the partner's settings risk (as the CLI warns)."""
    return " ".join([told, *(f"Warning: {w}." for w in partner_warnings(partner))])


async def _form_page(
    request: Request,
    who: Any,
    state: dict[str, Any] | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The partner's form: new, filled from ``state`` (secrets only as "set"), or as typed
    (secrets left out) with the API's refusals next to their fields."""
    by_field, on_top = partner_errors(errors or {})
    partnerships = await _partnerships(request, state) if state is not None else []
    return view(request, who, "partner.html", status, active="partners", partner=state,
                values=values, errors=by_field, on_top=on_top, form=partner_form,
                secrets=stored_secrets(state) if state else {},
                certificates=stored_certificates(state, datetime.now(UTC)) if state else {},
                partnerships=partnerships)  # fmt: skip


async def _partnerships(request: Request, state: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await config(request).get(
        "/api/v1/partnerships", {"partner_id": state["id"]}
    ) or []  # fmt: skip
    return found


@router.post("/partners/{ref}/enabled", response_model=None)
async def switch_partner(
    request: Request,
    ref: str,
    who: Admin,
    _form: CheckedForm,
    enabled: Annotated[str, Form()],
    back: Annotated[str, Form()] = "list",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Status On or Off (``enabled`` "on"/"off"); back to the list or to the partner's page.
    Off is asked about first: it stops every exchange with the partner at once."""
    state = await entity(request, "partners", ref)
    if state is None:
        return missing(request, who, f"partner {ref}")
    switched_on = enabled == "on"
    path = f"/partners/{ref}" if back == "detail" else "/partners"
    if not switched_on and confirmed != "yes":
        consequence = ("Every exchange with it stops at once: its messages are refused "
                       "(unknown-trading-partner) and send requests to it are rejected, until "
                       "it is switched on again.")  # fmt: skip
        return confirm_off(request, who, title=f"Switch partner {state['as2_id']} off?",
                           consequence=consequence, action=f"/partners/{ref}/enabled",
                           back=back, active="partners", cancel=path)  # fmt: skip
    answer = await config(request).change(
        "PATCH", f"/api/v1/partners/{ref}", actor=who.user.email, json={"enabled": switched_on}
    )
    if answer.ok:
        return done(path, f"Partner {state['as2_id']} is {'on' if switched_on else 'off'}.")
    if back == "detail":
        errors = {"": refusal(answer)}
        return await _form_page(request, who, state, partner_values(state), errors, answer.status)
    return view(request, who, "partners.html", answer.status, active="partners",
                partners=await _listed(request), error=refusal(answer))  # fmt: skip


@router.get("/partners/{ref}/delete", response_class=HTMLResponse)
async def confirm_delete(request: Request, ref: str, who: Admin) -> HTMLResponse:
    state = await entity(request, "partners", ref)
    if state is None:
        return missing(request, who, f"partner {ref}")
    return view(request, who, "partner_delete.html", active="partners", partner=state,
                refused=None)  # fmt: skip


@router.post("/partners/{ref}/delete", response_model=None)
async def delete_partner(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, "partners", ref)
    if state is None:
        return missing(request, who, f"partner {ref}")
    answer = await config(request).change("DELETE", f"/api/v1/partners/{ref}", actor=who.user.email)
    if answer.ok:
        return done("/partners", f"Partner {state['as2_id']} deleted.")
    return view(request, who, "partner_delete.html", answer.status, active="partners",
                partner=state, refused=refusal(answer))  # fmt: skip
