"""Sign-in and sign-out. The session cookie is HttpOnly, SameSite=Lax and (by default)
Secure; the sign-in form is protected by a double-submit CSRF token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from as2bus.console.accounts import SignInError
from as2bus.console.domain.sessions import new_token
from as2bus.console.entrypoints.guard import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CheckedForm,
    accounts,
)
from as2bus.console.entrypoints.pages import templates
from as2bus.console.wiring import wiring

router = APIRouter()


def _safe_next(path: str | None) -> str:
    """Only a path of this site: never an address elsewhere (an open redirect). Browsers drop
    tabs and line breaks from a URL, so "/\t/evil.example" would become "//evil.example"."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(ch.isspace() or not ch.isprintable() for ch in path):
        return "/"
    return path


def _login_page(
    request: Request,
    error: str | None,
    next_path: str,
    status: int,
    email: str = "",
    signed_out: bool = False,
) -> Response:
    token = new_token()
    context = {"error": error, "csrf": token, "next": next_path, "email": email,
               "signed_out": signed_out}  # fmt: skip
    answer = templates.TemplateResponse(request, "login.html", context, status_code=status)
    answer.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                      secure=wiring.get(request).cookie_secure, path="/login")  # fmt: skip
    return answer


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/", signed_out: str = "") -> Response:
    return _login_page(request, None, _safe_next(next), 200, signed_out=signed_out == "1")


@router.post("/login", response_model=None)
async def login(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    target = _safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        message = "the sign-in form was out of date; please try again"
        return _login_page(request, message, target, 403, email)
    address = request.client.host if request.client else "unknown"
    try:
        token, _who = await accounts(request).sign_in(email, password, address)
    except SignInError as err:
        return _login_page(request, str(err), target, 401, email)
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                      secure=wiring.get(request).cookie_secure,
                      max_age=wiring.get(request).session_seconds)  # fmt: skip
    answer.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return answer


@router.post("/logout", response_model=None)
async def logout(request: Request, who: CheckedForm) -> Response:
    if who.by_proxy:  # the proxy holds the sign-in: its sign-out ends it
        return RedirectResponse(wiring.get(request).sso_sign_out_url, status_code=303)
    address = request.client.host if request.client else "unknown"
    await accounts(request).sign_out(who, request.cookies.get(SESSION_COOKIE, ""), address)
    answer = RedirectResponse("/login?signed_out=1", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer
