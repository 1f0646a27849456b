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
    delivered: int = 0  # the rest of the total is still on its way

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


@dataclass(frozen=True)
class Expiring:
    """A certificate near (or past) its end, with the keystores (partnerships) that hold it:
    where an admin goes to replace it."""

    alias: str
    kind: str  # "own" (our key) or "partner"
    days_left: int
    keystores: list[tuple[str, str]]  # (keystore id, "STATION → PARTNER")

    @property
    def when(self) -> str:
        if self.days_left < 0:
            days = -self.days_left
            return f"expired {days} day{'s' if days != 1 else ''} ago"
        if self.days_left == 0:
            return "expires today"
        return f"{self.days_left} day{'s' if self.days_left != 1 else ''} left"

    @property
    def whose(self) -> str:
        return "our key" if self.kind == "own" else "partner's certificate"


def expiring_in_keystores(
    expiring: list[dict[str, Any]], keystores: list[dict[str, Any]]
) -> list[Expiring]:
    """Each expiring certificate with the keystores that use its alias (our key alias or the
    partner certificate alias), soonest first."""
    found = []
    for cert in expiring:
        alias_key = "private_key_alias" if cert.get("kind") == "own" else "partner_cert_alias"
        holders = [(str(k["id"]), f"{k['station_as2_id']} → {k['partner_as2_id']}")
                   for k in keystores if k.get(alias_key) == cert["alias"]]  # fmt: skip
        found.append(Expiring(cert["alias"], cert.get("kind", ""), int(cert["days_left"]),
                              sorted(holders, key=lambda h: h[1])))  # fmt: skip
    return sorted(found, key=lambda e: e.days_left)


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
        rate.delivered += count if row["status"] in GOOD else 0
    return sorted(
        per_partner.values(),
        key=lambda r: (-r.failure_rate, r.partner is None, r.partner or ""),
    )
