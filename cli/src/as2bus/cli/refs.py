"""Turning what the user typed (an AS2 ID, a UUID, ``STATION:PARTNER``) into an entry."""

from __future__ import annotations

import shlex
import uuid
from typing import Any

from as2bus.cli.client import CliError, ConfigClient


def _as_uuid(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def resolve(client: ConfigClient, kind: str, ref: str) -> dict[str, Any]:
    """A station or partner (``kind``) by AS2 ID or UUID; an AS2 ID that looks like a UUID
    still works."""
    plural = f"/{kind}s"
    if (ref_id := _as_uuid(ref)) is not None:
        try:
            found: dict[str, Any] = client.get(f"{plural}/{ref_id}")
            return found
        except CliError:
            pass  # maybe an AS2 ID shaped like a UUID; the lookup below reports the miss
    matches: list[dict[str, Any]] = client.get(plural, params={"as2_id": ref})
    if not matches:
        raise CliError(f"no {kind} with AS2 ID or id {ref!r} (see: as2bus {kind} list)")
    return matches[0]


def resolve_partnership(client: ConfigClient, ref: str) -> dict[str, Any]:
    """A partnership by UUID or ``STATION:PARTNER`` (AS2 IDs, which may themselves hold ':')."""
    if (ref_id := _as_uuid(ref)) is not None:
        found: dict[str, Any] = client.get(f"/partnerships/{ref_id}")
        return found
    if ":" not in ref:
        raise CliError(f"{ref!r} is neither a partnership id nor STATION:PARTNER (AS2 IDs)")
    every: list[dict[str, Any]] = client.get("/partnerships")
    for link in every:
        if f"{link['station_as2_id']}:{link['partner_as2_id']}" == ref:
            return link
    raise CliError(f"no partnership {ref!r} (see: as2bus partnership list)")


def refuse_while_paired(client: ConfigClient, kind: str, entity: dict[str, Any]) -> None:
    """A station or partner that partnerships use cannot be deleted (config-svc refuses it
    too): say so before asking to confirm, with the command that deletes each partnership."""
    links: list[dict[str, Any]] = client.get("/partnerships", params={f"{kind}_id": entity["id"]})
    if not links:
        return
    names = [f"{link['station_as2_id']}:{link['partner_as2_id']}" for link in links]
    commands = "; ".join(f"as2bus partnership delete {shlex.quote(name)}" for name in names)
    them = "it" if len(links) == 1 else "them"
    raise CliError(
        f"{kind} {entity['as2_id']!r} is used by {len(links)} partnership(s) "
        f"({', '.join(names)}): delete {them} first: {commands}"
    )
