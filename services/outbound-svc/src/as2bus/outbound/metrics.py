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
