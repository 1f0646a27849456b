"""Who is making the current API call, for the audit record of configuration and certificate
changes (``Event.audit``). The token check of the admin APIs (``web.require_scope``) sets it for
the request; the services' use cases read it when they record an event, without passing it
through every signature."""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any, TypeVar

from as2bus.contracts.envelope import Audit, Event

#: The header a trusted caller (the console) names the person it acts for with.
ACTOR_HEADER = "X-As2bus-Actor"
_ACTOR_MAX = 200
_PRINTABLE = re.compile(r"[^\x20-\x7e]")

_actor: ContextVar[str | None] = ContextVar("as2bus_actor", default=None)
E = TypeVar("E", bound=Event)


def describe_actor(token_id: str, scope: str, named: str | None) -> str:
    """'API token 1a2b3c4d (admin)', or 'alice@example.com via API token 1a2b3c4d'. The name
    is the caller's word, recorded as such next to the token that vouches for it (any holder
    of an admin token could claim a name: the token is the proof, the name the context)."""
    if named:
        cleaned = _PRINTABLE.sub("?", named.strip())[:_ACTOR_MAX]
        if cleaned:
            return f"{cleaned} via API token {token_id}"
    return f"API token {token_id} ({scope})"


def set_actor(actor: str | None) -> None:
    _actor.set(actor)


def current_actor() -> str | None:
    return _actor.get()


def audited(event: E, changes: dict[str, Any] | None = None) -> E:
    """``event`` with the audit record of the current API call; unchanged outside one (what a
    service does on its own is not a change anybody made)."""
    actor = _actor.get()
    if actor is None:
        return event
    return event.model_copy(update={"audit": Audit(actor=actor, changes=changes or {})})


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """field → {'from', 'to'} for each top-level field that differs (both JSON-ready)."""
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def secret_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Which secrets were set, replaced or removed, by name only: never a value."""
    found: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        if name not in after:
            found[f"secret {name}"] = {"to": "removed"}
        elif before.get(name) != after[name]:
            found[f"secret {name}"] = {"to": "replaced" if name in before else "set"}
    return found
