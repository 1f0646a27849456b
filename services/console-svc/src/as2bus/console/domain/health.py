"""Partner health from the track log: when the last exchange with each partner worked, when it
last failed and why, the success rate over 24 hours, what is waiting. tracklog-svc works out
the latest messages and the waiting count of every partner at once (``/partners/health``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from as2bus.console.domain.dashboard import PartnerRate


@dataclass(frozen=True)
class PartnerHealth:
    partner: dict[str, Any]  # config-svc's partner
    last_success: dict[str, Any] | None  # delivered, with or without warnings
    last_failure: dict[str, Any] | None
    waiting: int  # queued, sending, sent or retrying
    rate: PartnerRate | None  # the last 24 hours
    limits: dict[str, Any] | None = None  # outbound-svc's view of its limits' use, if it answered

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
