"""What to do about a message refused for its AS2 IDs, once it is known which one we do not
have: a partner writing our station's AS2 ID wrong (or in another case) must correct it, and
creating a partner or a station for it would only add a duplicate. Only a partner we have
never heard of is one to create.

Inbound (unknown-trading-partner): the partner's AS2-To is our station, its AS2-From the
partner. Outbound (UNKNOWN_PARTNERSHIP): the send request named the station and partner.
"""

from __future__ import annotations

from as2bus.console.domain.causes import Cause
from as2bus.shared.party_names import PartyCheck

#: The refusals for a station and a partner with no partnership between them.
PARTY_CODES = frozenset({"unknown-trading-partner", "UNKNOWN_PARTNERSHIP"})
_CASE = "AS2 IDs are case-sensitive"


def party_cause(code: str, check: PartyCheck) -> Cause:
    """The cause of a refusal coded ``code`` (one of PARTY_CODES), given what is known now of
    its station and partner."""
    inbound = code == "unknown-trading-partner"
    if check.both_known:
        return _not_paired(check, inbound)
    whats, todos = [], []
    if not check.station_known:
        what, todo = _no_station(check, inbound)
        whats.append(what)
        todos.append(todo)
    if not check.partner_known:
        what, todo = _no_partner(check, inbound)
        whats.append(what)
        todos.append(todo)
    again = "Then ask the partner to send it again." if inbound else "Then send the file again."
    return Cause(" ".join(whats), " ".join([*todos, again]))


def _not_paired(check: PartyCheck, inbound: bool) -> Cause:
    if not inbound:
        return Cause(
            "The gateway refused to send: there is no enabled partnership between our station "
            f"{check.station!r} and our partner {check.partner!r} (or the partner is disabled).",
            "Create or enable the partnership (PartnerShip page) and the partner, then send "
            "the file again.",
        )
    return Cause(
        f"A message came from our partner {check.partner!r} to our station {check.station!r}, "
        "but there is no enabled partnership between them (or the partner is disabled).",
        "If they trade with each other, create or enable the partnership (PartnerShip page) "
        "and the partner, then ask the partner to send it again.",
    )


def _no_station(check: PartyCheck, inbound: bool) -> tuple[str, str]:
    named = f"{check.station!r}, which is not one of our stations"
    if inbound:
        what = f"The partner addressed the message (AS2-To) to {named}"
    else:
        what = f"The send request names the station {named}"
    if check.station_twin:
        what += f": ours is {check.station_twin!r} ({_CASE})."
        if inbound:
            todo = (
                f"Ask the partner to address us exactly as {check.station_twin!r}; do not "
                "create a station for it."
            )
        else:
            todo = f"Send it from {check.station_twin!r}; do not create a station for it."
        return what, todo
    if inbound:
        todo = (
            "Tell the partner our station's AS2 ID (AS2 Instances page); create a station only "
            "if this should be a new one of ours."
        )
    else:
        todo = (
            "Send it from one of our stations (AS2 Instances page), or create the station if "
            "it should be ours."
        )
    return what + ".", todo


def _no_partner(check: PartyCheck, inbound: bool) -> tuple[str, str]:
    if inbound:
        what = (
            f"The message came from {check.partner!r} (AS2-From), which is not one of our partners"
        )
    else:
        what = f"The send request names the partner {check.partner!r}, which we do not have"
    if check.partner_twin:
        what += f": we have {check.partner_twin!r} ({_CASE})."
        if inbound:
            todo = (
                f"Ask the partner to send as {check.partner_twin!r}, the AS2 ID we have for it "
                "(or correct the partner's AS2 ID if theirs is right); do not create another "
                "partner."
            )
        else:
            todo = f"Send it to {check.partner_twin!r}; do not create another partner."
        return what, todo
    todo = "If it is a new partner, create the partner and the partnership."
    return what + ".", todo
