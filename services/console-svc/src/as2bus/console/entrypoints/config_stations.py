"""AS2 Instances: our stations (our own AS2 IDs), listed, created, edited and deleted through
config-svc. Everybody signed in reads them; admins change them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from as2bus.console.domain.config_forms import (
    STATION_FIELDS,
    STATION_LABELS,
    place_errors,
    station_body,
)
from as2bus.console.domain.config_forms import station_values as values_of
from as2bus.console.entrypoints.config_common import (
    config,
    done,
    entity,
    missing,
    posted,
    refusal,
    view,
)
from as2bus.console.entrypoints.guard import Admin, CheckedForm, Viewer

router = APIRouter()


@router.get("/stations", response_class=HTMLResponse)
async def stations(request: Request, who: Viewer) -> HTMLResponse:
    listed = await config(request).get("/api/v1/stations") or []
    return view(request, who, "stations.html", active="stations",
                stations=sorted(listed, key=lambda s: s["as2_id"].lower()))  # fmt: skip


@router.get("/stations/new", response_class=HTMLResponse)
async def new_station(request: Request, who: Admin) -> HTMLResponse:
    return await _form_page(request, who, None, {})


@router.post("/stations", response_model=None)
async def create_station(request: Request, who: Admin, _form: CheckedForm) -> Response:
    form = await posted(request)
    answer = await config(request).change(
        "POST", "/api/v1/stations", actor=who.user.email, json=station_body(form, None)
    )
    if answer.ok:
        return done("/stations", f"AS2 Instance {answer.body['as2_id']} created.")
    return await _form_page(request, who, None, form, answer.errors, answer.status)


@router.get("/stations/{ref}", response_class=HTMLResponse)
async def station(request: Request, ref: str, who: Viewer) -> HTMLResponse:
    state = await entity(request, "stations", ref)
    if state is None:
        return missing(request, who, f"AS2 Instance {ref}")
    return await _form_page(request, who, state, values_of(state))


@router.post("/stations/{ref}", response_model=None)
async def update_station(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, "stations", ref)
    if state is None:
        return missing(request, who, f"AS2 Instance {ref}")
    form = await posted(request)
    body = station_body(form, state)
    if not body:
        return done(f"/stations/{ref}", "Nothing to save: no field was changed.")
    answer = await config(request).change(
        "PATCH", f"/api/v1/stations/{ref}", actor=who.user.email, json=body
    )
    if answer.ok:
        return done("/stations", f"AS2 Instance {answer.body['as2_id']} saved.")
    return await _form_page(request, who, state, form, answer.errors, answer.status)


async def _form_page(
    request: Request,
    who: Any,
    state: dict[str, Any] | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The station's form: empty (new), filled from ``state``, or as typed with the API's
    refusals next to their fields."""
    by_field, on_top = place_errors(errors or {}, STATION_FIELDS, labels=STATION_LABELS)
    partnerships: list[dict[str, Any]] = []
    if state is not None:
        partnerships = await config(request).get(
            "/api/v1/partnerships", {"station_id": state["id"]}
        ) or []  # fmt: skip
    return view(request, who, "station.html", status, active="stations", station=state,
                values=values, errors=by_field, on_top=on_top, L=STATION_LABELS,
                partnerships=partnerships)  # fmt: skip


@router.get("/stations/{ref}/delete", response_class=HTMLResponse)
async def confirm_delete(request: Request, ref: str, who: Admin) -> HTMLResponse:
    state = await entity(request, "stations", ref)
    if state is None:
        return missing(request, who, f"AS2 Instance {ref}")
    return view(request, who, "station_delete.html", active="stations", station=state,
                refused=None)  # fmt: skip


@router.post("/stations/{ref}/delete", response_model=None)
async def delete_station(request: Request, ref: str, who: Admin, _form: CheckedForm) -> Response:
    state = await entity(request, "stations", ref)
    if state is None:
        return missing(request, who, f"AS2 Instance {ref}")
    answer = await config(request).change("DELETE", f"/api/v1/stations/{ref}", actor=who.user.email)
    if answer.ok:
        return done("/stations", f"AS2 Instance {state['as2_id']} deleted.")
    return view(request, who, "station_delete.html", answer.status, active="stations",
                station=state, refused=refusal(answer))  # fmt: skip
