"""Admin pages: the users of the console and the audit trail of every configuration,
certificate and user change. Admins only; every form carries its CSRF token."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from as2bus.console.adapters.audit_trail import AuditTrail
from as2bus.console.adapters.backends import BackendError
from as2bus.console.adapters.shown_once import SHOWN_WITHIN
from as2bus.console.domain.audit import ENTITIES
from as2bus.console.domain.roles import Role
from as2bus.console.domain.users import UserError
from as2bus.console.entrypoints.guard import Admin, CheckedForm
from as2bus.console.entrypoints.pages import backends, page
from as2bus.console.user_admin import UserAdmin
from as2bus.console.wiring import wiring

router = APIRouter()
AUDIT_PAGE = 50


def _trail(request: Request) -> AuditTrail:
    return wiring.get(request).audit_trail


def _users(request: Request) -> UserAdmin:
    return wiring.get(request).user_admin


@router.get("/audit", response_class=HTMLResponse)
async def audit(
    request: Request,
    who: Admin,
    actor: str = "",
    entity: str = "",
    q: str = "",
    before: str = "",
) -> HTMLResponse:
    """Who changed what, newest first, with filters and pages of 50."""
    older_than = _instant(before)
    entries = await _trail(request).entries(
        actor=actor.strip() or None,
        entity=entity if entity in ENTITIES else None,
        text=q.strip() or None,
        before=older_than,
        limit=AUDIT_PAGE + 1,
    )
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    next_page = None
    if more:
        query = {"actor": actor, "entity": entity, "q": q,
                 "before": entries[-1].occurred_at.isoformat()}  # fmt: skip
        next_page = "/audit?" + urlencode({k: v for k, v in query.items() if v})
    channels = await _channel_names(request) if any(e.names_channels for e in entries) else {}
    return page(request, "audit.html", who, active="audit", entries=entries, entities=ENTITIES,
                query={"actor": actor, "entity": entity, "q": q}, next_page=next_page,
                channels=channels)  # fmt: skip


async def _channel_names(request: Request) -> dict[str, str] | None:
    """Notification channel id → name: a rule's entry names its channels by id only. Without
    config-svc the page still stands (None: the channels go by a short id)."""
    try:
        listed = await backends(request).config.get("/api/v1/notification-channels") or []
    except BackendError:
        return None
    return {str(c["id"]): str(c["name"]) for c in listed}


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/users", response_class=HTMLResponse)
async def users(request: Request, who: Admin, shown: str = "") -> HTMLResponse:
    """The users; ``shown``: the token of a password just generated (Create user, Reset
    password), shown this once: a reload says it was shown instead of showing it again."""
    if not shown:
        return await _users_page(request, who)
    found = await wiring.get(request).shown_once.take(shown, who.user.id)
    if found is not None and found.password is not None:
        answer = await _users_page(request, who, shown=asdict(found))
        answer.headers["Cache-Control"] = "no-store"  # nor kept for the Back button
        return answer
    again = "To give them another one, use Reset password… on their row."
    if found is not None:
        gone = f"The password of {found.email} was shown once already and is not kept. {again}"
    else:
        minutes = int(SHOWN_WITHIN.total_seconds() // 60)
        gone = (f"That password is not shown any more: a generated password is shown once, to "
                f"the admin who made it, within {minutes} minutes. {again}")  # fmt: skip
    return await _users_page(request, who, gone=gone)


async def _users_page(
    request: Request,
    who: Any,
    *,
    error: str | None = None,
    shown: dict[str, str] | None = None,
    refused_new: dict[str, str] | None = None,
    gone: str | None = None,
) -> HTMLResponse:
    """The Users page; ``refused_new``: a refused new user's form, typed values and reason,
    shown at the form (a long list of users stands between it and the top of the page)."""
    listed = await _users(request).users()
    typed = refused_new or {"email": "", "role": Role.VIEWER.label}
    answer = page(request, "users.html", who, active="users", users=listed,
                  roles=[r.label for r in Role], error=error, shown=shown, typed=typed,
                  new_user_error=refused_new and refused_new["reason"], gone=gone,
                  done=request.query_params.get("done"))  # fmt: skip
    if error or refused_new:
        answer.status_code = 422
    return answer


@router.get("/users/{email}/disable", response_class=HTMLResponse)
async def confirm_disable(request: Request, email: str, who: Admin) -> HTMLResponse:
    return await _confirm(request, who, email, question=f"Disable {email}?",
                          consequence="They are signed out everywhere at once and cannot sign "
                          "in until an admin enables them again.",
                          action=f"/users/{quote(email)}", fields={"status": "disabled"},
                          button="Disable")  # fmt: skip


@router.get("/users/{email}/password", response_class=HTMLResponse)
async def confirm_reset(request: Request, email: str, who: Admin) -> HTMLResponse:
    return await _confirm(request, who, email, question=f"Reset the password of {email}?",
                          consequence="Their current password stops working and they are "
                          "signed out everywhere. The new password is shown once, on the page "
                          "that follows: hand it to them.",
                          action=f"/users/{quote(email)}/password", fields={},
                          button="Reset password")  # fmt: skip


async def _confirm(request: Request, who: Any, email: str, **context: Any) -> HTMLResponse:
    if not any(user.email == email for user in await _users(request).users()):
        return await _users_page(request, who, error=f"there is no user {email}")
    return page(request, "user_confirm.html", who, active="users", **context)


@router.post("/users", response_model=None)
async def create_user(
    request: Request,
    who: Admin,
    _form: CheckedForm,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> Response:
    """A new user with a generated password, shown once on the page it redirects to."""
    try:
        user, password = await _users(request).create(
            email, Role.named(role), None, actor=who.user.email
        )
    except (UserError, ValueError) as err:
        refused = {"email": email, "role": role, "reason": str(err)}
        return await _users_page(request, who, refused_new=refused)
    assert password is not None
    return await _show_once(
        request, who, user.email, password, f"{user.email} created as {user.role.label}."
    )


@router.post("/users/{email}", response_model=None)
async def change_user(
    request: Request,
    email: str,
    who: Admin,
    _form: CheckedForm,
    role: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
) -> Response:
    try:
        await _users(request).change(
            email,
            actor=who.user.email,
            role=Role.named(role) if role else None,
            disabled={"disabled": True, "enabled": False}.get(status),
        )
    except (UserError, ValueError) as err:
        return await _users_page(request, who, error=str(err))
    said = f"{email} is now {role}" if role else f"{email} is {status or 'saved'}"
    return RedirectResponse(f"/users?{urlencode({'done': said + '.'})}", status_code=303)


@router.post("/users/{email}/password", response_model=None)
async def reset_password(request: Request, email: str, who: Admin, _form: CheckedForm) -> Response:
    """A new generated password, shown once on the page it redirects to; the user's sessions
    end."""
    try:
        user, password = await _users(request).reset_password(email, None, actor=who.user.email)
    except UserError as err:
        return await _users_page(request, who, error=str(err))
    assert password is not None
    if user.id == who.user.id:
        # Their own: the reset ended this session too, so the page a redirect leads to would
        # ask for the password it was to show; a reload of this answer cannot reset again.
        answer = await _users_page(request, who, shown={"email": user.email, "password": password})
        answer.headers["Cache-Control"] = "no-store"
        return answer
    return await _show_once(request, who, user.email, password, f"{user.email}: password reset.")


async def _show_once(request: Request, who: Any, email: str, password: str, said: str) -> Response:
    """POST-redirect-GET: the Users page shows the password once; reloading it posts nothing."""
    token = await wiring.get(request).shown_once.keep(who.user.id, email, password)
    return RedirectResponse(f"/users?{urlencode({'done': said, 'shown': token})}", status_code=303)
