"""Who uses one of our key aliases: the warning for a key stored where no message will use it,
and whether such a key may be deleted. No I/O.

A partnership signs and decrypts with the key under its keystore's key alias, else under its
station's (``domain.key_uses``). A key under any other alias signs nothing: a stray copy of our
key imported under a made-up alias, or the station's key imported after a keystore gave the
partnership a key of its own. (inbound-svc's HTTPS key is the one exception, named by its own
setting, AS2BUS_INBOUND_TLS_KEY_ALIAS, which cert-svc does not see: the warning says so.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from as2bus.cert.domain import KeyUse


@dataclass(frozen=True)
class StationAlias:
    as2_id: str
    private_key_alias: str


def unused_key_warning(
    alias: str, stations: Iterable[StationAlias], uses: Sequence[KeyUse]
) -> str | None:
    """None when every partnership of the stations under ``alias`` signs with it; else a
    sentence saying who uses what instead."""
    known = sorted(stations, key=lambda s: s.as2_id)
    owners = {s.as2_id for s in known if s.private_key_alias == alias}
    if not owners and not any(u.private_key_alias == alias for u in uses):
        meant = [
            s for s in known if alias.lower() in (s.private_key_alias.lower(), s.as2_id.lower())
        ]
        if meant:
            return (
                f"no station or keystore uses the key alias {alias!r}: station "
                f"{meant[0].as2_id}'s key alias is {meant[0].private_key_alias!r}"
            )
        return (
            f"no station or keystore uses the key alias {alias!r} yet: messages are signed with "
            "the key under their keystore's key alias, else their station's (private_key_alias); "
            "as inbound-svc's HTTPS key (AS2BUS_INBOUND_TLS_KEY_ALIAS) it is in its place"
        )
    elsewhere = [u for u in uses if u.station_as2_id in owners and u.private_key_alias != alias]
    if elsewhere:
        named = ", ".join(f"{u.name} ({u.private_key_alias!r})" for u in elsewhere)
        return (
            f"partnership {named} signs and decrypts with its keystore's key, not with this one"
            if len(elsewhere) == 1
            else f"partnerships {named} sign and decrypt with their keystores' keys, not with "
            "this one"
        )
    return None


def key_deletion_refusal(
    alias: str, stations: Iterable[StationAlias], keystores: Iterable[tuple[str, str]]
) -> str | None:
    """Why our key under ``alias`` may not be deleted, or None: only a key no station and no
    keystore names may go, since messages of those may still need it to decrypt.
    ``keystores`` are (partnership as STATION:PARTNER, its key alias)."""
    retire = (
        "our keys in use are not deleted (messages may still need them to decrypt): retire it "
        "instead, with a retirement time (as2bus cert schedule ID --retire-at TIME)"
    )
    owners = sorted(s.as2_id for s in stations if s.private_key_alias == alias)
    if owners:
        return f"station {owners[0]} uses the key alias {alias!r}: {retire}"
    holders = sorted(name for name, key_alias in keystores if key_alias == alias)
    if holders:
        return f"the keystore {holders[0]} uses the key alias {alias!r}: {retire}"
    return None
