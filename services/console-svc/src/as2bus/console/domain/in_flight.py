"""Whether a message is still on its way, and so whether its page follows it: console.js
fetches the page again every second or two (less often while nothing changes) until the
message settles, so "sending" turns into "delivered" without a reload."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Statuses of an outbound message still on its way: ``sent`` waits for the partner's
#: (asynchronous) MDN. Every other status is where a message stays.
IN_FLIGHT = ("queued", "sending", "sent", "retrying")
#: Statuses of an outbound message the partner has.
DELIVERED = ("delivered", "delivered-with-warnings")


def in_flight(detail: dict[str, Any]) -> bool:
    return detail["direction"] == "outbound" and detail["status"] in IN_FLIGHT


def page_follows(detail: dict[str, Any], resends: Iterable[dict[str, Any]] = ()) -> bool:
    """The message's page follows it while the message, or one of its resends (whose status
    the page shows), is on its way."""
    return in_flight(detail) or any(r["status"] in IN_FLIGHT for r in resends)
