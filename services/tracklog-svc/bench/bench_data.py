"""A month of gateway traffic as events, for the tracklog benchmark (not a test module).

70 % outbound (mostly delivered; some with warnings, retries, failures, or still awaiting an
async MDN), 30 % inbound (mostly MDN sent; some duplicates, failed async MDNs), ~1 % rejected.
50 partners with a skewed share of traffic, 3 stations, three filename families.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

from as2bus.contracts import Event
from as2bus.testing.tracklog import T0, inbound, outbound, rejected

PARTNERS = [f"partner{n:02d}" for n in range(50)]
WEIGHTS = [1 / (n + 1) for n in range(50)]  # partner00 sends the most
STATIONS = ["MYCO", "MYCO-EU", "MYCO-TEST"]
SPAN = timedelta(days=30)


def filename(n: int) -> str:
    return (f"INV-{n}.edi", f"po_{n}.x12", f"ASN{n}.xml")[n % 3]


def message(n: int, total: int, rng: random.Random) -> list[Event]:
    at = T0 + SPAN * (n / total)
    partner = rng.choices(PARTNERS, WEIGHTS)[0]
    station = STATIONS[2 if n % 11 == 0 else 1 if n % 7 == 0 else 0]
    where = {"at": at, "partner": partner, "station": station, "filename": filename(n)}
    roll = rng.random()
    if roll < 0.005:
        return [rejected(direction="outbound", request_id=f"req-{n}", at=at, partner=partner)]
    if roll < 0.01:
        ref = f"<{n}@{partner}>"
        return [rejected(direction="inbound", message_id=ref, at=at, partner=partner)]
    if roll < 0.30:
        return inbound(
            f"<{n}@{partner}>",
            **where,
            duplicates=int(roll < 0.04),
            mdn_mode="async" if roll < 0.1 else "sync",
            mdn_delivered=roll > 0.015,
        )
    kind = rng.random()
    if kind < 0.03:
        return outbound(f"<{n}@myco>", **where, retries=2, fail="HTTP 503 from the partner")
    if kind < 0.05:
        return outbound(f"<{n}@myco>", **where, mdn="processed/warning")
    if kind < 0.10:
        return outbound(f"<{n}@myco>", **where, retries=1)
    if kind < 0.12:
        return outbound(f"<{n}@myco>", **where, mdn_mode="async", mdn=None)
    return outbound(f"<{n}@myco>", **where, mdn_mode=("sync", "async")[n % 4 == 0])


def chunks(total: int, size: int, seed: int = 1) -> Iterator[list[Event]]:
    """The events of ``size`` messages at a time, in the order they would have happened."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not secrets
    for start in range(0, total, size):
        events = [e for n in range(start, min(total, start + size)) for e in message(n, total, rng)]
        events.sort(key=lambda e: e.occurred_at)
        yield events
