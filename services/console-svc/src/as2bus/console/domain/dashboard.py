"""The dashboard's figures from tracklog-svc's statistics (``/api/v1/stats``): totals by
direction and status, the failure rate per partner, time to MDN, expiring certificates."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FAILED = ("failed", "rejected")
GOOD = ("delivered", "delivered-with-warnings", "mdn-sent", "received")


@dataclass
class PartnerRate:
    partner: str | None  # None: send requests refused before naming a known partner
    total: int
    failed: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass
class Summary:
    totals: Counter[str] = field(default_factory=Counter)  # "outbound delivered" → count
    total: int = 0
    failed: int = 0
    delivered: int = 0
    partners: list[PartnerRate] = field(default_factory=list)
    time_to_mdn: dict[str, Any] | None = None  # all partners: count, p50, p90, p99 (ms)
    expiring: list[dict[str, Any]] = field(default_factory=list)


def summarise(stats: dict[str, Any], *, expiring_days: int = 30) -> Summary:
    summary = Summary()
    for row in stats.get("counts", []):
        count, status = int(row["count"]), row["status"]
        summary.totals[f"{row['direction']} {status}"] += count
        summary.total += count
        summary.failed += count if status in FAILED else 0
        summary.delivered += count if status in GOOD else 0
    summary.partners = partner_rates(stats)
    summary.time_to_mdn = next(
        (t for t in stats.get("time_to_mdn", []) if t.get("partner") is None), None
    )
    summary.expiring = [
        c for c in stats.get("certificates", [])
        if c.get("days_left") is not None and c["days_left"] <= expiring_days
    ]  # fmt: skip
    return summary


def partner_rates(stats: dict[str, Any], direction: str | None = None) -> list[PartnerRate]:
    """Each partner's messages and failures in the statistics, the highest failure rate first:
    both directions, or only ``direction``'s (Partner health counts what we send)."""
    per_partner: dict[str, PartnerRate] = {}
    for row in stats.get("counts", []):
        if direction is not None and row["direction"] != direction:
            continue
        count = int(row["count"])
        rate = per_partner.setdefault(row["partner"] or "", PartnerRate(row["partner"], 0, 0))
        rate.total += count
        rate.failed += count if row["status"] in FAILED else 0
    return sorted(
        per_partner.values(),
        key=lambda r: (-r.failure_rate, r.partner is None, r.partner or ""),
    )
