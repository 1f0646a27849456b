"""Notification rules: what is worth a person's attention, after how long, told through which
channels; made, edited, switched on and off and deleted through config-svc. Listed on the
Notifications page (config_notifications.py); admins change them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from as2bus.console.domain import notification_form as forms
from as2bus.console.entrypoints.config_common import (
    config,
    done,
    entity,
    missing,
    posted,
    refusal,
    view,
)
from as2bus.console.entrypoints.config_notifications import settings_of, switch
from as2bus.console.entrypoints.guard import Admin, CheckedForm, Viewer

router = APIRouter()
RULES = "notification-rules"


async def _channel_ids(request: Request) -> list[str]:
    """The channels ticked on the form (CheckedForm has read it already)."""
    return [str(v) for v in (await request.form()).getlist("channel_ids") if isinstance(v, str)]


@router.get("/notifications/rules/new", response_class=HTMLResponse)
async def new_rule(request: Request, who: Admin) -> HTMLResponse:
    return await _form_page(request, who, None, dict(forms.NEW_RULE), [])


@router.post("/notifications/rules", response_model=None)
async def create_rule(request: Request, who: Admin, _form: CheckedForm) -> Response:
    form, chosen = await posted(request), await _channel_ids(request)
    body, mistakes = forms.rule_body(form, chosen, None)
    if mistakes:
        return await _form_page(request, who, None, form, chosen, mistakes, 422)
    answer = await config(request).change(
        "POST", f"/api/v1/{RULES}", actor=who.user.email, json=body
    )
    if answer.ok:
        return done("/notifications", f"Rule {answer.body['name']} created.")
    return await _form_page(request, who, None, form, chosen, answer.errors, answer.status)


@router.get("/notifications/rules/{ref}", response_class=HTMLResponse)
async def rule(request: Request, ref: str, who: Viewer) -> HTMLResponse:
    state = await entity(request, RULES, ref)
    if state is None:
        return missing(request, who, f"notification rule {ref}")
    chosen = [str(c) for c in state["channel_ids"]]
    return await _form_page(request, who, state, forms.rule_values(state), chosen)


@router.post("/notifications/rules/{ref}", response_model=None)
async def update_rule(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, RULES, ref)
    if state is None:
        return missing(request, who, f"notification rule {ref}")
    form, chosen = await posted(request), await _channel_ids(request)
    body, mistakes = forms.rule_body(form, chosen, state)
    if mistakes:
        return await _form_page(request, who, state, form, chosen, mistakes, 422)
    if not body:
        return done(f"/notifications/rules/{ref}", "Nothing to save: no setting was changed.")
    answer = await config(request).change(
        "PATCH", f"/api/v1/{RULES}/{ref}", actor=who.user.email, json=body
    )
    if answer.ok:
        return done("/notifications", f"Rule {answer.body['name']} saved.")
    return await _form_page(request, who, state, form, chosen, answer.errors, answer.status)


async def _form_page(
    request: Request,
    who: Any,
    state: dict[str, Any] | None,
    values: dict[str, str],
    chosen: list[str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    by_field, on_top = forms.rule_errors(errors or {})
    channels, _ = await settings_of(request)
    return view(request, who, "notification_rule.html", status, active="notifications",
                rule=state, values=values, chosen=chosen, channels=channels, errors=by_field,
                on_top=on_top, form=forms)  # fmt: skip


@router.post("/notifications/rules/{ref}/enabled", response_model=None)
async def switch_rule(
    request: Request, ref: str, who: Admin, _form: CheckedForm, enabled: Annotated[str, Form()]
) -> Response:
    return await switch(request, who, RULES, ref, enabled == "on", "rule")


@router.get("/notifications/rules/{ref}/delete", response_class=HTMLResponse)
async def confirm_delete(request: Request, ref: str, who: Admin) -> HTMLResponse:
    state = await entity(request, RULES, ref)
    if state is None:
        return missing(request, who, f"notification rule {ref}")
    return _delete_page(request, who, state, None)


@router.post("/notifications/rules/{ref}/delete", response_model=None)
async def delete_rule(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, RULES, ref)
    if state is None:
        return missing(request, who, f"notification rule {ref}")
    answer = await config(request).change("DELETE", f"/api/v1/{RULES}/{ref}", actor=who.user.email)
    if answer.ok:
        return done("/notifications", f"Rule {state['name']} deleted.")
    return _delete_page(request, who, state, refusal(answer), answer.status)


def _delete_page(
    request: Request, who: Any, state: dict[str, Any], refused: str | None, status: int = 200
) -> HTMLResponse:
    return view(request, who, "notification_delete.html", status, active="notifications",
                what="rule", label=state["name"], refused=refused,
                path=f"/notifications/rules/{state['id']}")  # fmt: skip
