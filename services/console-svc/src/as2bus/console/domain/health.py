"""Partner health from the track log: when a message we sent each partner was last delivered,
when one last failed or was refused and why, the share delivered over 24 hours, what is
waiting. Every figure is about outbound messages, like the rest of the page (limits, the
connection test): a success rate counting received messages too once showed "100 %" next to
"Last success: never". tracklog-svc works out the latest messages and the waiting counts of
every partner at once (``/partners/health``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from as2bus.console.domain.dashboard import PartnerRate


@dataclass(frozen=True)
class PartnerHealth:
    partner: dict[str, Any]  # config-svc's partner
    last_success: dict[str, Any] | None  # delivered, with or without warnings
    last_failure: dict[str, Any] | None  # failed, or refused before sending (rejected)
    waiting: int  # queued, sending, sent or retrying
    rate: PartnerRate | None  # outbound messages of the last 24 hours
    limits: dict[str, Any] | None = None  # outbound-svc's view of its limits' use, if it answered
    #: The waiting messages per status ("retrying": 2): the TrackLog filters by one status.
    waiting_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        return None if self.rate is None or not self.rate.total else 1 - self.rate.failure_rate

    @property
    def failing(self) -> bool:
        """The latest exchange failed: the partner needs a look."""
        if self.last_failure is None:
            return False
        if self.last_success is None:
            return True
        return bool(self.last_failure["updated_at"] > self.last_success["updated_at"])
