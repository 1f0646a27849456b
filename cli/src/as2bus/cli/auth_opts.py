"""``--auth``, ``--username``, ``--password``, ``--token-*`` → the partner's ``http_auth`` body.

On update only what the user names changes: the rest of the current settings is carried over,
and a stored secret is kept (the API keeps it when the request omits it) unless a new one is
given. A missing secret is asked for with hidden input; secrets are never printed.
"""

from __future__ import annotations

from typing import Any

from as2bus.cli import ask
from as2bus.cli.client import CliError
from as2bus.cli.partner_opts import BASIC_OPTS, TOKEN_OPTS, TOKEN_PUBLIC


def _flags(names: Any) -> str:
    return ", ".join("--" + n.replace("_", "-") for n in names)


def _given(params: dict[str, Any], names: Any) -> list[str]:
    return [n for n in names if params.get(n) is not None]


def secrets_in(http_auth: dict[str, Any] | None) -> set[str]:
    """The secret values in an ``http_auth`` body, so error messages can mask them."""
    return {str(v) for k in ("password", "token") if (v := (http_auth or {}).get(k))}


def build_auth(
    params: dict[str, Any], current: dict[str, Any] | None, who: str
) -> dict[str, Any] | None:
    """The ``http_auth`` body, or None when no authentication option was given.

    ``current`` is the partner's stored (public) ``http_auth`` on update, None on create.
    """
    basic, token = _given(params, BASIC_OPTS), _given(params, TOKEN_OPTS)
    chosen = params.get("auth")
    if chosen is None and not basic and not token:
        return None
    kind = str(chosen or (current or {}).get("type") or "none")
    same = current is not None and current.get("type") == kind
    if kind != "basic" and basic:
        raise CliError(f"{_flags(basic)} only apply with --auth basic")
    if kind != "token" and token:
        raise CliError(f"{_flags(token)} only apply with --auth token")
    if kind == "basic":
        return _basic(params, current if same else None, who)
    if kind == "token":
        return _token(params, current if same else None, who)
    return {"type": "none"}


def _basic(params: dict[str, Any], current: dict[str, Any] | None, who: str) -> dict[str, Any]:
    username = params.get("username") or (current or {}).get("username")
    if not username:
        raise CliError("--username is required with --auth basic")
    body: dict[str, Any] = {"type": "basic", "username": username}
    password = params.get("password")
    if password is None and not (current or {}).get("password_set"):
        password = ask.secret(f"Password for {who}")
    if password is not None:
        body["password"] = password
    return body


def _token(params: dict[str, Any], current: dict[str, Any] | None, who: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "token"}
    if current is not None:
        body |= {k: current[k] for k in TOKEN_PUBLIC if k in current}
        refresh = current.get("refresh")
        if refresh:
            if refresh.get("header_names"):
                raise CliError(
                    f"{who} refreshes its token with secret headers, which the CLI cannot "
                    "carry over; change its authentication through the API"
                )
            keep = ("uri", "method", "media_type", "token_path")
            body["refresh"] = {k: refresh[k] for k in keep if k in refresh}
    body |= {api: params[cli] for cli, api in TOKEN_OPTS.items() if params.get(cli) is not None}
    stored = current is not None and (current.get("token_set") or current.get("refresh"))
    if "token" not in body and not stored:
        body["token"] = ask.secret(f"Token for {who}")
    return body
