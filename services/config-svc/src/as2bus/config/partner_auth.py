"""Splits a partner's HTTP authentication into its public part (in events and responses) and
its secrets (sealed in the database). An update that leaves a secret out keeps the stored one."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from as2bus.config.schemas import BasicAuthIn, HttpAuthIn, NoAuthIn, TokenAuthIn


def _reveal(value: SecretStr | None, kept: Any) -> Any:
    return value.get_secret_value() if value is not None else kept


def split_auth(
    auth: HttpAuthIn, old_public: dict[str, Any], old_secrets: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (public settings, secrets) for ``auth``, keeping omitted secrets of the same type."""
    same_type = old_public.get("type") == auth.type
    kept = old_secrets if same_type else {}
    if isinstance(auth, NoAuthIn):
        return {"type": "none"}, {}
    if isinstance(auth, BasicAuthIn):
        password = _reveal(auth.password, kept.get("password"))
        secrets = {"password": password} if password else {}
        return {"type": "basic", "username": auth.username, "password_set": bool(password)}, secrets
    return _split_token(auth, kept)


def _split_token(auth: TokenAuthIn, kept: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    secrets: dict[str, Any] = {}
    token = _reveal(auth.token, kept.get("token"))
    if token:
        secrets["token"] = token
    public: dict[str, Any] = auth.model_dump(exclude={"token", "refresh"})
    public["token_set"] = bool(token)
    public["refresh"] = None
    if auth.refresh is not None:
        refresh = auth.refresh
        refresh_token = _reveal(refresh.refresh_token, kept.get("refresh_token"))
        if refresh_token:
            secrets["refresh_token"] = refresh_token
        headers = (
            {k: v.get_secret_value() for k, v in refresh.headers.items()}
            if refresh.headers is not None
            else kept.get("refresh_headers") or {}  # omitted: kept, as the other secrets
        )
        if headers:
            secrets["refresh_headers"] = headers
        public["refresh"] = {
            **refresh.model_dump(exclude={"headers", "refresh_token"}),
            "header_names": sorted(headers),
            "refresh_token_set": bool(refresh_token),
        }
    return public, secrets
