"""Who is asking, and may they: the session behind a request's cookie, its role, and the CSRF
token every form posts back. Checked on the server for every page and action."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from as2bus.console.accounts import Accounts, SignedIn, SignInError
from as2bus.console.domain.roles import Action, may
from as2bus.console.domain.users import UserError
from as2bus.console.wiring import wiring
from as2bus.shared.forwarded import peer_address

SESSION_COOKIE = "as2bus_session"
#: Before sign-in there is no session to hold the CSRF token: the sign-in form's token is
#: also set in this cookie and the two must match (double submit).
LOGIN_CSRF_COOKIE = "as2bus_login_csrf"


class SignInRequired(Exception):
    """No current session: the page answers with a redirect to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class Forbidden(Exception):
    """Signed in, but the role does not allow this (or the form's CSRF token is wrong)."""


def accounts(request: Request) -> Accounts:
    return wiring.get(request).accounts


async def signed_in(request: Request) -> SignedIn:
    proxy = wiring.get(request).proxy
    # The proxy's own address, not the client's it forwards (AS2BUS_FORWARDED_ALLOW_IPS):
    # only the proxy sets these headers.
    if proxy is not None and proxy.trusts(peer_address(request)):
        email = request.headers.get(proxy.user_header)
        if email:
            role = proxy.role_for(request.headers.get(proxy.groups_header))
            if role is None:
                raise Forbidden("none of your groups gives a role in the console; ask an admin")
            try:
                return await accounts(request).signed_in_by_proxy(email, role)
            except (SignInError, UserError) as err:
                raise Forbidden(str(err)) from None
    who = await accounts(request).signed_in(request.cookies.get(SESSION_COOKIE))
    if who is None:
        query = request.url.query  # the filters of a TrackLog link, kept through sign-in
        raise SignInRequired(request.url.path + (f"?{query}" if query else ""))
    return who


def allowed(action: Action) -> object:
    """A dependency: the signed-in user, who must be allowed ``action``."""

    async def check(who: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
        if not may(who.user.role, action):
            needed, role = action.value.label, who.user.role.label
            raise Forbidden(f"This takes the {needed} role and yours is {role}: ask an admin.")
        return who

    return Depends(check)


async def form_checked(
    who: Annotated[SignedIn, Depends(signed_in)], csrf: Annotated[str, Form()] = ""
) -> SignedIn:
    """For every POST: the form must carry its session's CSRF token."""
    if not who.session.csrf_ok(csrf):
        raise Forbidden("the form's security token is missing or out of date; reload the page")
    return who


Viewer = Annotated[SignedIn, allowed(Action.VIEW)]
Operator = Annotated[SignedIn, allowed(Action.SEND)]
Admin = Annotated[SignedIn, allowed(Action.CONFIGURE)]
CheckedForm = Annotated[SignedIn, Depends(form_checked)]
