"""PartnerShip: one of our stations paired with a partner. The list, the pairing form, and the
PartnerShip page: both sides side by side with the certificate each uses (cert-svc's keystore
of the pair or, without one, the station's key and the partner's certificate under its alias),
and our public certificate to download and send to the partner."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from as2bus.console.adapters.backends import BackendError
from as2bus.console.adapters.cert_service import CERTIFICATES
from as2bus.console.domain.config_forms import (
    IN_FLIGHT,
    IN_FLIGHT_COUNTED,
    PARTNERSHIP_LABELS,
    certificate_in_use,
    in_flight_refusal,
    keystore_of,
    place_errors,
)
from as2bus.console.entrypoints.config_common import (
    config,
    confirm_off,
    done,
    entity,
    missing,
    posted,
    refusal,
    view,
)
from as2bus.console.entrypoints.guard import Admin, CheckedForm, Viewer
from as2bus.console.entrypoints.pages import backends

router = APIRouter()


def _name(p: dict[str, Any]) -> str:
    return f"{p['station_as2_id']} → {p['partner_as2_id']}"


async def _list_page(request: Request, who: Any, error: str | None = None,
                     status: int = 200) -> HTMLResponse:  # fmt: skip
    c = config(request)
    partnerships = await c.get("/api/v1/partnerships") or []
    partners = {p["id"]: p for p in await c.get("/api/v1/partners") or []}
    stations = await c.get("/api/v1/stations") or []
    partnerships.sort(key=lambda p: (p["station_as2_id"].lower(), p["partner_as2_id"].lower()))
    return view(request, who, "partnerships.html", status, active="partnerships",
                partnerships=partnerships, partners=partners, stations=stations,
                error=error)  # fmt: skip


@router.get("/partnerships", response_class=HTMLResponse)
async def partnerships(request: Request, who: Viewer) -> HTMLResponse:
    return await _list_page(request, who)


@router.get("/partnerships/new", response_class=HTMLResponse)
async def new_partnership(request: Request, who: Admin) -> HTMLResponse:
    return await _form_page(request, who, dict(request.query_params))


@router.post("/partnerships", response_model=None)
async def create_partnership(request: Request, who: Admin, _form: CheckedForm) -> Response:
    form = await posted(request)
    body = {"station_id": form.get("station_id", ""), "partner_id": form.get("partner_id", "")}
    answer = await config(request).change(
        "POST", "/api/v1/partnerships", actor=who.user.email, json=body
    )
    if answer.ok:
        created = answer.body
        return done(f"/partnerships/{created['id']}", f"PartnerShip {_name(created)} created.")
    return await _form_page(request, who, form, answer.errors, answer.status)


async def _form_page(
    request: Request,
    who: Any,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The pairing form; a disabled partner is listed but cannot be chosen."""
    c = config(request)
    stations = sorted(await c.get("/api/v1/stations") or [], key=lambda s: s["as2_id"].lower())
    partners = sorted(await c.get("/api/v1/partners") or [], key=lambda p: p["as2_id"].lower())
    by_field, on_top = place_errors(errors or {}, PARTNERSHIP_LABELS, labels=PARTNERSHIP_LABELS)
    return view(request, who, "partnership_new.html", status, active="partnerships",
                stations=stations, partners=partners, values=values, errors=by_field,
                on_top=on_top, L=PARTNERSHIP_LABELS)  # fmt: skip


@router.get("/partnerships/{ref}", response_class=HTMLResponse)
async def partnership(request: Request, ref: str, who: Viewer) -> HTMLResponse:
    return await _page(request, who, ref)


async def _page(
    request: Request, who: Any, ref: str, error: str | None = None, status: int = 200
) -> HTMLResponse:
    state = await entity(request, "partnerships", ref)
    if state is None:
        return missing(request, who, f"partnership {ref}")
    station = await entity(request, "stations", state["station_id"]) or {}
    partner = await entity(request, "partners", state["partner_id"]) or {}
    keystore, unavailable = None, None
    ours = theirs = None
    try:
        keystore = await _keystore(request, state)
        if keystore is not None:
            ours = certificate_in_use(keystore.get("own_certificates") or [])
            theirs = certificate_in_use(keystore.get("partner_certificates") or [])
        else:
            ours = await _station_certificate(request, station)
            theirs = await _in_use(request, partner.get("as2_alias"), "partner")
    except BackendError as err:
        unavailable = str(err)  # the rest of the page still stands
    return view(request, who, "partnership.html", status, active="partnerships",
                partnership=state, station=station, partner=partner, keystore=keystore,
                ours=ours, theirs=theirs, unavailable=unavailable, error=error)  # fmt: skip


async def _keystore(request: Request, state: dict[str, Any]) -> dict[str, Any] | None:
    keystores = await backends(request).cert.get("/api/v1/keystores") or []
    return keystore_of(keystores, state["station_as2_id"], state["partner_as2_id"])


async def _station_certificate(request: Request, station: dict[str, Any]) -> dict[str, Any] | None:
    """What a partnership without a keystore signs and decrypts with: its station's key (the
    station's private key alias), as outbound-svc and inbound-svc fall back to. Its partner
    certificate is the one under the partner's alias, with a keystore or not."""
    return await _in_use(request, station.get("private_key_alias"), "own")


async def _in_use(request: Request, alias: str | None, kind: str) -> dict[str, Any] | None:
    if not alias:
        return None
    found = await backends(request).cert.get(CERTIFICATES, {"alias": alias, "kind": kind})
    return certificate_in_use(found or [])


@router.get("/partnerships/{ref}/certificate.cer", response_model=None)
async def public_key(request: Request, ref: str, who: Viewer) -> Response:
    """Download PublicKey: our current public certificate for this partnership (PEM), passed
    through from cert-svc, to send to the partner."""
    state = await entity(request, "partnerships", ref)
    if state is None:
        return missing(request, who, f"partnership {ref}")
    keystore = await _keystore(request, state)
    found = None
    if keystore is not None:
        found = await backends(request).cert.file(
            f"/api/v1/keystores/{keystore['id']}/certificate.cer"
        )
    else:  # the station's key signs for it: its certificate is the one partners need
        station = await entity(request, "stations", state["station_id"]) or {}
        ours = await _station_certificate(request, station)
        if ours is not None:
            found = await backends(request).cert.file(
                f"{CERTIFICATES}/{ours['id']}/certificate.pem"
            )
    if found is None:
        return view(request, who, "problem.html", 404, title="No certificate yet",
                    detail=f"The partnership {_name(state)} has no certificates yet: an admin "
                    "creates them on its PartnerShip page (Create its certificates).")  # fmt: skip
    # The alias makes the name (letters, digits, . _ @ -); anything else is not let through.
    filename = re.sub(r"[^A-Za-z0-9._@-]", "_", found.filename) or "certificate.cer"
    disposition = f'attachment; filename="{filename}"'
    return Response(found.content, media_type=found.media_type,
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.post("/partnerships/{ref}/enabled", response_model=None)
async def switch_partnership(
    request: Request,
    ref: str,
    who: Admin,
    _form: CheckedForm,
    enabled: Annotated[str, Form()],
    back: Annotated[str, Form()] = "list",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Status On or Off; config-svc refuses On while the partner is off (shown as it says).
    Off is asked about first: it stops the partnership's exchanges at once."""
    state = await entity(request, "partnerships", ref)
    if state is None:
        return missing(request, who, f"partnership {ref}")
    switched_on = enabled == "on"
    path = f"/partnerships/{ref}" if back == "detail" else "/partnerships"
    if not switched_on and confirmed != "yes":
        consequence = ("Its exchanges stop at once: the partner's messages to this AS2 "
                       "Instance are refused (unknown-trading-partner) and send requests on it "
                       "are rejected, until it is switched on again.")  # fmt: skip
        return confirm_off(request, who, title=f"Switch PartnerShip {_name(state)} off?",
                           consequence=consequence, action=f"/partnerships/{ref}/enabled",
                           back=back, active="partnerships", cancel=path)  # fmt: skip
    answer = await config(request).change(
        "PATCH", f"/api/v1/partnerships/{ref}", actor=who.user.email,
        json={"enabled": switched_on},
    )  # fmt: skip
    if answer.ok:
        return done(path, f"PartnerShip {_name(state)} is {'on' if switched_on else 'off'}.")
    if back == "detail":
        return await _page(request, who, ref, refusal(answer), answer.status)
    return await _list_page(request, who, refusal(answer), answer.status)


@router.get("/partnerships/{ref}/delete", response_class=HTMLResponse)
async def confirm_delete(request: Request, ref: str, who: Admin) -> HTMLResponse:
    state = await entity(request, "partnerships", ref)
    if state is None:
        return missing(request, who, f"partnership {ref}")
    return view(request, who, "partnership_delete.html", active="partnerships",
                partnership=state, refused=None)  # fmt: skip


@router.post("/partnerships/{ref}/delete", response_model=None)
async def delete_partnership(
    request: Request, ref: str, who: Admin, _form: CheckedForm
) -> Response:
    """Refused while tracklog-svc has outbound messages of the pair in flight: deleting the
    partnership under them would fail them for a reason nobody chose."""
    state = await entity(request, "partnerships", ref)
    if state is None:
        return missing(request, who, f"partnership {ref}")
    waiting = await backends(request).tracklog.get("/api/v1/messages", {
        "station": state["station_as2_id"], "partner": state["partner_as2_id"],
        "direction": "outbound", "status": list(IN_FLIGHT), "limit": IN_FLIGHT_COUNTED,
    })  # fmt: skip
    reason = in_flight_refusal(waiting or {})
    if reason is None:
        answer = await config(request).change(
            "DELETE", f"/api/v1/partnerships/{ref}", actor=who.user.email
        )
        if answer.ok:
            return done("/partnerships", f"PartnerShip {_name(state)} deleted.")
        reason = refusal(answer)
    return view(request, who, "partnership_delete.html", 409, active="partnerships",
                partnership=state, refused=reason)  # fmt: skip
