"""The milestone ladder at the top of a message's page: the steps a message goes through, each
done, the one where it stopped, or not reached yet. Derived from tracklog-svc's detail alone, so
it always agrees with the status beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

State = Literal["done", "stopped", "pending"]

#: Statuses that end a message short of its last step.
STOPPING = frozenset({"failed", "rejected", "mdn-failed", "duplicate"})


@dataclass(frozen=True)
class Milestone:
    name: str
    state: State
    text: str  # the state in words: the page never tells it by colour alone
    at: str | None = None  # when the step was reached (or the message stopped), when known


def milestones(detail: dict[str, Any]) -> list[Milestone]:
    outbound = detail["direction"] == "outbound"
    steps = _outbound_steps(detail) if outbound else _inbound_steps(detail)
    ended = detail["status"] in STOPPING
    ladder: list[Milestone] = []
    for name, reached, at in steps:
        unreached = [m for m in ladder if m.state != "done"]
        if reached:
            ladder.append(Milestone(name, "done", "done", at))
        elif ended and not unreached:
            stopped_at = detail.get("failed_at") or detail.get("rejected_at")
            ladder.append(Milestone(name, "stopped", "stopped here", stopped_at))
        elif ended:
            ladder.append(Milestone(name, "pending", "not reached"))
        else:  # still on its way: the first open step is the one it waits for
            ladder.append(Milestone(name, "pending", "not yet" if unreached else "waiting"))
    return ladder


Step = tuple[str, bool, str | None]


def _outbound_steps(d: dict[str, Any]) -> list[Step]:
    # Every outbound row but a refused send request was queued (the queueing event may be
    # older than the stream's history).
    steps: list[Step] = [
        ("queued", d.get("queued_at") is not None or d["status"] != "rejected", d.get("queued_at")),
        ("sent", d.get("sent_at") is not None, d.get("sent_at")),
    ]
    if d.get("mdn_requested") != "none":
        mdn_at = d.get("mdn_at") or _first(d, "MdnReceived")
        steps.append(("MDN received", mdn_at is not None, mdn_at))
    delivered = d["status"] in ("delivered", "delivered-with-warnings")
    steps.append(("delivered", delivered, _first(d, "MessageDelivered") if delivered else None))
    return steps


def _inbound_steps(d: dict[str, Any]) -> list[Step]:
    # The row exists because a partner's message (or its MDN exchange) arrived. MessageReceived
    # is on the bus before the MDN goes out (inbound-svc's order), so it comes first here.
    steps: list[Step] = [
        ("received", True, d.get("created_at")),
        ("delivered to the bus", d.get("received_at") is not None, d.get("received_at")),
    ]
    if _mdn_asked(d):
        delivered = d.get("mdn_delivered") is True
        steps.append(("MDN sent", delivered, d.get("mdn_at") if delivered else None))
    return steps


def _mdn_asked(d: dict[str, Any]) -> bool:
    """The partner asked for an MDN (Disposition-Notification-To), or one was sent anyway."""
    if d.get("mdn_at") is not None or _first(d, "MdnSent"):
        return True
    for entry in d.get("timeline", []):
        if entry["event_type"] == "MessageReceived":
            headers = (entry.get("data") or {}).get("headers") or {}
            return any(k.lower() == "disposition-notification-to" for k in headers)
    return False


def _first(d: dict[str, Any], event_type: str) -> str | None:
    return next((e["occurred_at"] for e in d.get("timeline", []) if e["event_type"] == event_type),
                None)  # fmt: skip
