"""Notifications: the channels and rules config-svc keeps, with notify-svc's open incidents and
latest deliveries on the same page; channels made, edited, switched on and off, deleted and
tested here (rules: config_notification_rules.py). Everybody signed in reads; admins change;
operators may send a test notice. The form ↔ JSON mapping (secrets write-only) is
domain/notification_form.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from as2bus.console.adapters.backends import BackendError
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
from as2bus.console.entrypoints.guard import Admin, CheckedForm, Operator, Viewer
from as2bus.console.entrypoints.pages import backends

router = APIRouter()
CHANNELS = "notification-channels"
#: The deliveries the page lists, newest first.
RECENT_DELIVERIES = 20


async def settings_of(request: Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """config-svc's channels and rules, each sorted by name."""
    channels = await config(request).get(f"/api/v1/{CHANNELS}") or []
    rules = await config(request).get("/api/v1/notification-rules") or []
    return sorted(channels, key=lambda c: c["name"].lower()), sorted(
        rules, key=lambda r: r["name"].lower()
    )


async def _activity(request: Request) -> tuple[list[Any], list[Any], str | None]:
    """notify-svc's open incidents and latest deliveries; when it is away, none and why (the
    settings from config-svc still show)."""
    notify = backends(request).notify
    try:
        incidents = await notify.get("/api/v1/incidents") or []
        deliveries = await notify.get("/api/v1/deliveries", {"limit": RECENT_DELIVERIES}) or []
    except BackendError as err:
        return [], [], str(err)
    return incidents, deliveries, None


async def list_page(
    request: Request, who: Any, error: str | None = None, status: int = 200
) -> HTMLResponse:
    channels, rules = await settings_of(request)
    incidents, deliveries, away = await _activity(request)
    return view(request, who, "notifications.html", status, active="notifications",
                channels=channels, rules=rules, incidents=incidents, deliveries=deliveries,
                notify_away=away, error=error, form=forms,
                channel_names={c["id"]: c["name"] for c in channels},
                rule_names={r["id"]: r["name"] for r in rules})  # fmt: skip


@router.get("/notifications", response_class=HTMLResponse)
async def notifications(request: Request, who: Viewer) -> HTMLResponse:
    return await list_page(request, who)


@router.get("/notifications/channels/new", response_class=HTMLResponse)
async def new_channel(request: Request, who: Admin, type: str = "webhook") -> HTMLResponse:
    kind = type if type in forms.CHANNEL_TYPES else "webhook"
    return _form_page(request, who, kind, None, dict(forms.NEW_CHANNEL))


@router.post("/notifications/channels", response_model=None)
async def create_channel(request: Request, who: Admin, _form: CheckedForm) -> Response:
    form = await posted(request)
    kind = form.get("type", "")
    if kind not in forms.CHANNEL_TYPES:
        return _form_page(request, who, "webhook", None, forms.typed_back(form),
                          {"": "choose a webhook or an e-mail channel"}, 422)  # fmt: skip
    body, mistakes = forms.channel_body(kind, form, None)
    if mistakes:
        return _form_page(request, who, kind, None, forms.typed_back(form), mistakes, 422)
    answer = await config(request).change(
        "POST", f"/api/v1/{CHANNELS}", actor=who.user.email, json=body
    )
    if answer.ok:
        return done("/notifications", f"Channel {answer.body['name']} created.")
    return _form_page(request, who, kind, None, forms.typed_back(form), answer.errors,
                      answer.status)  # fmt: skip


@router.get("/notifications/channels/{ref}", response_class=HTMLResponse)
async def channel(request: Request, ref: str, who: Viewer) -> HTMLResponse:
    state = await entity(request, CHANNELS, ref)
    if state is None:
        return missing(request, who, f"notification channel {ref}")
    return _form_page(request, who, state["target"]["type"], state, forms.channel_values(state))


@router.post("/notifications/channels/{ref}", response_model=None)
async def update_channel(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, CHANNELS, ref)
    if state is None:
        return missing(request, who, f"notification channel {ref}")
    kind = state["target"]["type"]
    form = await posted(request)
    body, mistakes = forms.channel_body(kind, form, state)
    if mistakes:
        return _form_page(request, who, kind, state, forms.typed_back(form), mistakes, 422)
    if not body:
        return done(f"/notifications/channels/{ref}", "Nothing to save: no setting was changed.")
    answer = await config(request).change(
        "PATCH", f"/api/v1/{CHANNELS}/{ref}", actor=who.user.email, json=body
    )
    if answer.ok:
        return done("/notifications", f"Channel {answer.body['name']} saved.")
    return _form_page(request, who, kind, state, forms.typed_back(form), answer.errors,
                      answer.status)  # fmt: skip


def _form_page(
    request: Request,
    who: Any,
    kind: str,
    state: dict[str, Any] | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    by_field, on_top = forms.channel_errors(errors or {})
    return view(request, who, "notification_channel.html", status, active="notifications",
                kind=kind, channel=state, values=values, errors=by_field, on_top=on_top,
                form=forms, secrets=forms.stored_secret(state))  # fmt: skip


@router.post("/notifications/channels/{ref}/enabled", response_model=None)
async def switch_channel(
    request: Request, ref: str, who: Admin, _form: CheckedForm, enabled: Annotated[str, Form()]
) -> Response:
    return await switch(request, who, CHANNELS, ref, enabled == "on", "channel")


async def switch(
    request: Request, who: Any, collection: str, ref: str, on: bool, what: str
) -> Response:
    """Turn a channel or a rule on or off; back to the list, saying so or why not."""
    state = await entity(request, collection, ref)
    if state is None:
        return missing(request, who, f"notification {what} {ref}")
    answer = await config(request).change(
        "PATCH", f"/api/v1/{collection}/{ref}", actor=who.user.email, json={"enabled": on}
    )
    if answer.ok:
        shown = f"{what.capitalize()} {state['name']} is {'on' if on else 'off'}."
        return done("/notifications", shown)
    return await list_page(request, who, refusal(answer), answer.status)


@router.post("/notifications/channels/{ref}/test", response_model=None)
async def send_test(request: Request, ref: str, who: Operator, _form: CheckedForm) -> Response:
    """A test notice through notify-svc, now: it has the channel's secrets and the egress.
    notify-svc answers 502 with the reason when the channel did not take it."""
    state = await entity(request, CHANNELS, ref)
    if state is None:
        return missing(request, who, f"notification channel {ref}")
    try:
        answer = await backends(request).notify.change(
            "POST", f"/api/v1/channels/{ref}/test", actor=who.user.email, timeout=60,
            failed_from=503,
        )  # fmt: skip
    except BackendError as err:
        return await list_page(request, who, f"No test notice was sent: {err}.", 503)
    if answer.ok:
        return done("/notifications", f"A test notice went out through channel {state['name']}.")
    why = refusal(answer)
    return await list_page(request, who, f"Channel {state['name']}: {why}", answer.status)


@router.get("/notifications/channels/{ref}/delete", response_class=HTMLResponse)
async def confirm_delete(request: Request, ref: str, who: Admin) -> HTMLResponse:
    state = await entity(request, CHANNELS, ref)
    if state is None:
        return missing(request, who, f"notification channel {ref}")
    return _delete_page(request, who, state, None)


@router.post("/notifications/channels/{ref}/delete", response_model=None)
async def delete_channel(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, CHANNELS, ref)
    if state is None:
        return missing(request, who, f"notification channel {ref}")
    answer = await config(request).change(
        "DELETE", f"/api/v1/{CHANNELS}/{ref}", actor=who.user.email
    )
    if answer.ok:
        return done("/notifications", f"Channel {state['name']} deleted.")
    return _delete_page(request, who, state, refusal(answer), answer.status)


def _delete_page(
    request: Request, who: Any, state: dict[str, Any], refused: str | None, status: int = 200
) -> HTMLResponse:
    return view(request, who, "notification_delete.html", status, active="notifications",
                what="channel", label=state["name"], refused=refused,
                path=f"/notifications/channels/{state['id']}")  # fmt: skip
