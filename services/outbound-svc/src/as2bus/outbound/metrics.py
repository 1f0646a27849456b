"""outbound-svc's Prometheus metrics, per partner."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENT = Counter(
    "as2bus_outbound_delivered_total", "Messages delivered (by final status)", ["partner", "status"]
)
FAILED = Counter(
    "as2bus_outbound_failed_total", "Messages failed, by reason", ["partner", "reason"]
)
ATTEMPTS = Counter(
    "as2bus_outbound_attempts_total", "Send attempts (first tries and retries)", ["partner"]
)
IN_FLIGHT = Gauge("as2bus_outbound_in_flight", "Sends in progress in this replica", ["partner"])
TIME_TO_MDN = Histogram(
    "as2bus_outbound_time_to_mdn_seconds",
    "From send request to MDN",
    ["partner"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400),
)
# Read from the database the replicas share (backlog.py), every ``backlog_check_seconds`` by
# the send loop: each replica reports the same figures, so aggregate them with max(), not sum().
BACKLOG = Gauge(
    "as2bus_outbound_backlog_messages",
    "Messages not settled yet, by status: queued, retrying, sending, awaiting-mdn",
    ["partner", "status"],
)
MDN_OVERDUE = Gauge(
    "as2bus_outbound_mdn_overdue_messages",
    "Messages awaiting an async MDN past their deadline, not yet resent or failed",
    ["partner"],
)
# Counted where it happens, by the replica that did it: sum() these.
MDN_DEADLINES = Counter(
    "as2bus_outbound_mdn_missed_total",
    "Async MDNs that did not come by their deadline, by what followed: resent or failed",
    ["partner", "outcome"],
)
LIMIT_WAITS = Counter(
    "as2bus_outbound_limit_waits_total",
    "Claims of a partner's due messages held back by its limits: rate or concurrency",
    ["partner", "limit"],
)
