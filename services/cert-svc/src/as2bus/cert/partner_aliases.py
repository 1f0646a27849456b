"""Who uses a partner certificate's alias: the warning for an upload no partner will use, and
whether a partner certificate may be deleted. No I/O.

Messages use the certificate stored under the partner's certificate alias (``as2_alias``,
by default its AS2 ID in lower case), so a certificate under any other alias serves nothing:
an upload under the AS2 ID ``ACMERETAIL`` when the alias is ``acmeretail`` is the usual slip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from as2bus.cert.domain import Certificate


@dataclass(frozen=True)
class PartnerAlias:
    as2_id: str
    as2_alias: str


def unused_alias_warning(alias: str, partners: Iterable[PartnerAlias]) -> str | None:
    """None when a partner uses ``alias``; else a sentence, naming the alias of the partner
    the upload was probably meant for (one whose alias or AS2 ID is ``alias`` but for case)."""
    known = sorted(partners, key=lambda p: p.as2_id)
    if any(p.as2_alias == alias for p in known):
        return None
    meant = [p for p in known if alias.lower() in (p.as2_alias.lower(), p.as2_id.lower())]
    if meant:
        return (
            f"no partner uses the alias {alias!r}: partner {meant[0].as2_id}'s certificate "
            f"alias is {meant[0].as2_alias!r}"
        )
    return (
        f"no partner uses the alias {alias!r} yet: messages use the certificate under their "
        "partner's certificate alias (as2_alias)"
    )


def deletion_refusal(
    cert: Certificate, partners: Iterable[PartnerAlias], keystores: Iterable[tuple[str, str]]
) -> str | None:
    """Why the partner certificate ``cert`` may not be deleted, or None (our keys:
    ``own_aliases.key_deletion_refusal``). Only a partner certificate nothing uses may go: one
    a partner uses is replaced by a rotation, which keeps the old one for the overlap.
    ``keystores`` are (partnership as STATION:PARTNER, partner certificate alias)."""
    users = sorted(p.as2_id for p in partners if p.as2_alias == cert.alias)
    if users:
        return (
            f"partner {users[0]} uses the alias {cert.alias!r}: a certificate in use is not "
            "deleted; upload its successor under the same alias (a rotation) instead"
        )
    holders = sorted(name for name, alias in keystores if alias == cert.alias)
    if holders:
        return (
            f"the keystore {holders[0]} holds the partner certificate alias {cert.alias!r}: "
            "upload its successor under the same alias (a rotation) instead"
        )
    return None
