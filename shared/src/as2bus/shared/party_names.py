"""Why a station and a partner have no partnership, in words an operator can act on: which of
the two AS2 IDs we do not know at all, and the known one it differs from only in case. AS2 IDs
are compared exactly (RFC 4130 section 6.2), so 'distco' is not 'DISTCO': a partner (or a send
request) that writes ours in another case reaches nobody, and telling it apart from a partner
we have never heard of keeps an operator from creating a duplicate station or partner.

inbound-svc (a partner's AS2-To and AS2-From), outbound-svc (a send request's station and
partner) and console-svc (its advice for such a refusal) judge a pair the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PartyCheck:
    """What is known of a station and a partner named by AS2 ID."""

    station: str
    partner: str
    station_known: bool
    partner_known: bool
    #: The known AS2 ID that differs from the one given only in case, if there is one.
    station_twin: str | None = None
    partner_twin: str | None = None

    @classmethod
    def of(
        cls, station: str, partner: str, stations: Iterable[str], partners: Iterable[str]
    ) -> PartyCheck:
        stations, partners = list(stations), list(partners)
        return cls(
            station,
            partner,
            station_known=station in stations,
            partner_known=partner in partners,
            station_twin=None if station in stations else same_but_case(station, stations),
            partner_twin=None if partner in partners else same_but_case(partner, partners),
        )

    @property
    def both_known(self) -> bool:
        return self.station_known and self.partner_known

    def reason(self) -> str:
        """One sentence: the AS2 IDs we do not know (with the one meant, when only the case
        differs), or that both are known but not paired."""
        if self.both_known:
            return f"no partnership between station {self.station!r} and partner {self.partner!r}"
        unknown = []
        if not self.station_known:
            unknown.append(f"station {self.station!r}{_did_you_mean(self.station_twin)}")
        if not self.partner_known:
            unknown.append(f"partner {self.partner!r}{_did_you_mean(self.partner_twin)}")
        return "we have no " + " and no ".join(unknown)


def same_but_case(as2_id: str, known: Iterable[str]) -> str | None:
    """The AS2 ID among ``known`` that is ``as2_id`` in other letter case, if any."""
    folded = as2_id.casefold()
    return next((k for k in known if k != as2_id and k.casefold() == folded), None)


def _did_you_mean(twin: str | None) -> str:
    return f" (did you mean {twin!r}? AS2 IDs are case-sensitive)" if twin else ""
