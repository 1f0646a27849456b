"""What the configuration pages (AS2 Instances, Partner, PartnerShip) share: the posted form,
who may change things, the redirect after a change, the page of a refusal."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from as2bus.console.adapters.backends import Backend, Change
from as2bus.console.domain.config_forms import sentence, text_fields
from as2bus.console.domain.roles import Action, may
from as2bus.console.entrypoints.pages import backends, page


def config(request: Request) -> Backend:
    return backends(request).config


def is_admin(who: Any) -> bool:
    """Admins change the configuration; everybody else reads it (a page of facts, or a form
    without its buttons where there is no such page)."""
    return may(who.user.role, Action.CONFIGURE)


async def posted(request: Request) -> dict[str, str]:
    """The text fields of the posted form (already read and checked by CheckedForm)."""
    return text_fields((await request.form()).multi_items())


def known_id(text: str) -> bool:
    """Ids in paths are config-svc's UUIDs; anything else is a page that does not exist."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def entity(request: Request, kind: str, ref: str) -> dict[str, Any] | None:
    """A station, partner or partnership (``kind`` as the API's path names it), None if none."""
    if not known_id(ref):
        return None
    found: dict[str, Any] | None = await config(request).get(f"/api/v1/{kind}/{ref}")
    return found


def done(path: str, message: str) -> RedirectResponse:
    """After a change: back to a page that says, briefly, what was done (shown escaped)."""
    return RedirectResponse(f"{path}?{urlencode({'done': message})}", status_code=303)


def view(request: Request, who: Any, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A configuration page: ``admin`` says whether its forms are live; ``done`` is the
    confirmation of the change that led here."""
    answer = page(request, name, who, admin=is_admin(who),
                  done=request.query_params.get("done"), **context)  # fmt: skip
    answer.status_code = status
    return answer


def missing(request: Request, who: Any, what: str) -> HTMLResponse:
    return view(request, who, "missing.html", 404, what=what)


def refusal(change: Change) -> str:
    """The API's reasons for refusing a whole action (a delete, an enable), as one text."""
    return " ".join(sentence(reason) for reason in change.errors.values())


def confirm_off(request: Request, who: Any, *, title: str, consequence: str, action: str,
                back: str, cancel: str, active: str) -> HTMLResponse:  # fmt: skip
    """The question before switching something off that stops a partner's traffic: the
    switch's own form again, answered; ``cancel`` is where the page came from."""
    return view(request, who, "confirm_off.html", active=active, title=title,
                consequence=consequence, action=action, back=back, cancel=cancel)  # fmt: skip
