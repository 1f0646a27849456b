"""Partner health from the track log: when a message we sent each partner was last delivered,
when one last failed or was refused and why, the share delivered over 24 hours (of the
messages that ended: delivered, failed or refused), what is waiting. Every figure is about
outbound messages, like the rest of the page (limits, the connection test): a success rate
counting received messages too once showed "100 %" next to "Last success: never".
tracklog-svc works out the latest messages and the waiting counts of every partner at once
(``/partners/health``)."""

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
    #: The latest message waiting for a retry (its error: why its attempt failed), and when
    #: the oldest one was accepted: a partner down shows here before anything has failed.
    last_retrying: dict[str, Any] | None = None
    retrying_since: str | None = None

    @property
    def retrying(self) -> int:
        return self.waiting_by_status.get("retrying", 0)

    @property
    def finished(self) -> int:
        """Of the last 24 hours' messages, those that ended: delivered, failed or refused."""
        return 0 if self.rate is None else self.rate.delivered + self.rate.failed

    @property
    def on_the_way(self) -> int:
        """Of the last 24 hours' messages, those not ended yet (queued, sending, sent and
        awaiting the MDN, retrying): counted apart, as neither delivered nor failed."""
        return 0 if self.rate is None else self.rate.total - self.finished

    @property
    def success_rate(self) -> float | None:
        """The share delivered of the messages that ended; None: none has. Counting those
        still on the way as delivered once read "100 % of 8 sent" with 3 of them retrying."""
        if self.rate is None or not self.finished:
            return None
        return self.rate.delivered / self.finished

    @property
    def failing(self) -> bool:
        """The latest exchange failed: the partner needs a look."""
        if self.last_failure is None:
            return False
        if self.last_success is None:
            return True
        return bool(self.last_failure["updated_at"] > self.last_success["updated_at"])
