"""A partner's settings as its read-only page lists them (domain/partner_facts.py): no I/O,
no app."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from as2bus.console.domain.partner_facts import DEFAULT_ATTEMPTS, Group, partner_facts

from .test_partner_form import STORED, TOKEN_WITH_REFRESH

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def group(groups: list[Group], group_id: str) -> Group:
    return next(g for g in [*groups, *(p for g in groups for p in g.parts)] if g.id == group_id)


def said(found: Group) -> dict[str, str]:
    """Each fact of a group (not of its parts): field → its value, lines joined."""
    return {f.name: " / ".join(line.text + line.whole for line in f.lines) for f in found.facts}


def test_each_value_reads_as_the_form_shows_it_chosen_without_its_advice() -> None:
    partner = {**STORED, "signing_alg": "sha1", "as2_version": "1.0", "encryption_alg": None}
    security = said(group(partner_facts(partner, NOW), "partner-security"))
    assert security["signing_alg"] == "SHA-1"  # not "SHA-1 (old: only if …)"
    assert security["as2_version"] == "1.0"
    assert security["encryption_alg"] == "Not encrypted"
    assert security["signature_scheme"] == "RSA PKCS#1 v1.5"
    limits = said(group(partner_facts(partner, NOW), "partner-limits"))
    assert limits == {"rate_limit_per_second": "2.5", "max_concurrency": "25",
                      "max_attempts": DEFAULT_ATTEMPTS}  # fmt: skip


def test_only_the_chosen_authentication_is_listed_and_secrets_only_as_set() -> None:
    def auth(http_auth: dict[str, Any]) -> Group:
        return group(partner_facts({**STORED, "http_auth": http_auth}, NOW), "partner-auth")

    assert said(auth({"type": "none"})) == {"auth_type": "None"}
    assert auth({"type": "none"}).parts == ()
    basic = said(auth({"type": "basic", "username": "myco", "password_set": False}))
    assert basic == {"auth_type": "User name and password (Basic)", "auth_username": "myco",
                     "auth_password": "Not set"}  # fmt: skip
    token = auth(TOKEN_WITH_REFRESH)
    assert said(token) == {"auth_type": "Token in a header", "token_header_name": "Authorization",
                           "token_scheme": "Bearer", "token": "Set"}  # fmt: skip
    (endpoint,) = token.parts
    assert (endpoint.legend, said(endpoint)) == ("Token endpoint", {
        "refresh_uri": "/oauth/token", "refresh_method": "POST",
        "refresh_media_type": "application/json", "refresh_token_path": "access_token",
        "refresh_token": "Set", "refresh_headers": "Set: X-Key"})  # fmt: skip
    query = {**TOKEN_WITH_REFRESH, "placement": "query", "scheme": "", "refresh": None}
    assert said(auth(query)) == {"auth_type": "Token as a URL parameter",
                                 "token_param_name": "access_token", "token": "Set",
                                 "refresh_uri": "None"}  # fmt: skip
