"""The certificate pages: the list (one row per partnership keystore, both sides' certificates
and their downloads, then the partnerships signing with their station's key) and Create Cert;
each keystore's page is keystore_pages.py, its forms keystore_changes.py. Every role reads;
admins create (CSRF token in every form)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from as2bus.console.adapters.cert_service import CertClient, read_upload
from as2bus.console.domain.certificate_forms import FormProblems
from as2bus.console.domain.certificates import (
    CertificateShown,
    in_use,
    keystore_shown,
    shown,
    station_keys_shown,
)
from as2bus.console.domain.roles import Action, may
from as2bus.console.entrypoints import keystore_changes, keystore_pages
from as2bus.console.entrypoints.guard import Admin, CheckedForm, Viewer
from as2bus.console.entrypoints.keystore_pages import certs_for
from as2bus.console.entrypoints.pages import backends, page
from as2bus.console.keystore_creation import NewKeystore, Own, create_keystore

router = APIRouter()
Text = Annotated[str, Form()]
FileField = Annotated[UploadFile | None, File()]


@router.get("/certificates", response_class=HTMLResponse)
async def certificates(request: Request, who: Viewer) -> HTMLResponse:
    """The keystores, then the partnerships without one that sign with their station's key."""
    certs, config = certs_for(request, who), backends(request).config
    keystores = await certs.keystores()
    found = [keystore_shown(k) for k in keystores]
    station_keys = station_keys_shown(
        await config.get("/api/v1/partnerships") or [],
        await config.get("/api/v1/stations") or [],
        await config.get("/api/v1/partners") or [],
        keystores,
        await certs.all_certificates(),
    )
    return page(request, "certificates.html", who, active="certificates",
                keystores=sorted(found, key=lambda k: (k.station, k.partner)),
                station_keys=station_keys,
                is_admin=may(who.user.role, Action.CONFIGURE))  # fmt: skip


# --- Create Cert ------------------------------------------------------------------------------
@dataclass
class Choice:
    """The partnerships a keystore may be created for, and the one chosen (with what the form
    pre-fills from config-svc and cert-svc)."""

    pairs: list[tuple[str, str]]  # (station, partner) AS2 IDs: a partnership, no keystore yet
    taken: dict[tuple[str, str], str]  # the pairs that have one: keystore id
    asked: tuple[str, str] = ("", "")  # the pair asked for (?station=&partner=, or the form's)
    station: dict[str, Any] | None = None  # config-svc's, when chosen
    partner: dict[str, Any] | None = None
    station_key: CertificateShown | None = None  # the station's key in service, if any
    partner_certificate: CertificateShown | None = None  # held under the partner's alias
    problem: str = ""  # why the pair asked for cannot be chosen
    values: dict[str, str] = field(default_factory=dict)  # the form's pre-filled fields


async def _choice(request: Request, certs: CertClient, station: str, partner: str) -> Choice:
    config = backends(request).config
    stations = {s["as2_id"]: s for s in await config.get("/api/v1/stations") or []}
    partners = {p["as2_id"]: p for p in await config.get("/api/v1/partners") or []}
    linked = {(p["station_as2_id"], p["partner_as2_id"])
              for p in await config.get("/api/v1/partnerships") or []}  # fmt: skip
    taken = {(k["station_as2_id"], k["partner_as2_id"]): str(k["id"])
             for k in await certs.keystores()}  # fmt: skip
    choice = Choice(sorted(linked - taken.keys()), taken, (station, partner))
    if not (station or partner):
        return choice
    if (station, partner) in taken:
        choice.problem = (
            f"{station} → {partner} has a keystore already: rotate its certificates on its page"
        )
    elif (station, partner) not in linked or station not in stations or partner not in partners:
        choice.problem = (
            f"{station or '(no station)'} and {partner or '(no partner)'} have no partnership: "
            "create it first (PartnerShip), or choose another pair"
        )
    if choice.problem:
        return choice
    choice.station, choice.partner = stations[station], partners[partner]
    station_alias, partner_alias = (
        stations[station]["private_key_alias"],
        partners[partner]["as2_alias"],
    )
    own = [shown(c, "own") for c in await certs.certificates(station_alias, "own")]
    theirs = [shown(c, "partner") for c in await certs.certificates(partner_alias, "partner")]
    choice.station_key = in_use([c for c in own if c.state != "scheduled"])
    choice.partner_certificate = in_use([c for c in theirs if c.state != "retired"])
    # A key in service stays the partnership's (cert-svc changes no key in use; a rotation
    # does): keep it by default. Without one, a new key under the station's alias.
    choice.values = {"own_key": "existing" if choice.station_key else "generate",
                     "private_key_alias": station_alias, "partner_cert_alias": partner_alias,
                     "key_alias": "", "partner_file_entry": ""}  # fmt: skip
    return choice


def _new_page(
    request: Request,
    who: Any,
    choice: Choice,
    refused: FormProblems | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """Step one (choose the partnership) until a pair is chosen, then step two (the keys)."""
    choice.values.update(values or {})
    answer = page(request, "certificate_new.html", who, active="certificates", c=choice,
                  problems=refused or FormProblems())  # fmt: skip
    if refused is not None or choice.problem:
        answer.status_code = 422
    return answer


@router.get("/certificates/new", response_class=HTMLResponse)
async def new_keystore_form(
    request: Request, who: Admin, station: str = "", partner: str = ""
) -> HTMLResponse:
    """Step one: the partnership (?station=&partner= preselects it); step two: our key
    (generated, the station's, or imported) and the partner's certificate."""
    choice = await _choice(request, certs_for(request, who), station.strip(), partner.strip())
    return _new_page(request, who, choice)


@router.post("/certificates/new", response_model=None)
async def new_keystore(
    request: Request,
    who: Admin,
    _form: CheckedForm,
    station: Text,
    partner: Text,
    mode: Text = "generate",
    own_key: Text = "generate",
    password: Text = "",
    export_password: Text = "",
    private_key_alias: Text = "",
    partner_cert_alias: Text = "",
    key_alias: Text = "",
    file: FileField = None,
    partner_file: FileField = None,
    partner_file_password: Text = "",
    partner_file_entry: Text = "",
) -> Response:
    """Option A (mode generate: a new key pair, or the station's key) or B (mode import: our
    PKCS#12), each with the partner's certificate: one cert-svc call (keystore_creation.py)."""
    own: Own = (
        "import" if mode == "import" else ("existing" if own_key == "existing" else "generate")
    )
    values = {
        "private_key_alias": private_key_alias.strip(),
        "partner_cert_alias": partner_cert_alias.strip(),
        "key_alias": key_alias.strip(),
        "partner_file_entry": partner_file_entry.strip(),
        **({"own_key": own_key} if mode != "import" else {}),  # the other form keeps its own
    }
    certs = certs_for(request, who)
    choice = await _choice(request, certs, station, partner)
    if choice.station is None:  # not a partnership without a keystore: the page says why
        return _new_page(request, who, choice)
    new = NewKeystore(
        station=station,
        partner=partner,
        own=own,
        password=password,
        private_key_alias=values["private_key_alias"],
        partner_cert_alias=values["partner_cert_alias"],
        partner_certificate=await read_upload(partner_file),
        p12=await read_upload(file) if own == "import" else None,
        key_alias=values["key_alias"],
        export_password=export_password if own == "import" else "",
        partner_password=partner_file_password,
        partner_entry=values["partner_file_entry"],
    )
    outcome = await create_keystore(certs, new)
    if outcome.keystore_id is None:
        return _new_page(request, who, choice, outcome.problems, values)
    query = {"done": " ".join([f"Keystore {station} → {partner} created.",
                               *(f"Note: {w}." for w in outcome.warnings)])}  # fmt: skip
    return RedirectResponse(f"/certificates/{outcome.keystore_id}?{urlencode(query)}",
                            status_code=303)  # fmt: skip


# After /certificates/new, so that "new" is not taken for a keystore's id.
router.include_router(keystore_pages.router)
router.include_router(keystore_changes.router)
