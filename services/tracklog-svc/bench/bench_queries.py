"""The list queries the tracklog benchmark times: one per filter, with random values."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bench_data import PARTNERS, SPAN, STATIONS, T0

from as2bus.tracklog.adapters.queries import MessageFilter, encode_cursor

Make = Callable[[], tuple[MessageFilter, dict[str, Any]]]
rng = random.Random(5)  # noqa: S311 - benchmark data, not secrets


def _when() -> Any:
    return T0 + SPAN * rng.random()


def scenarios(messages: int) -> list[tuple[str, Make]]:
    def n() -> int:
        return rng.randrange(messages)

    def partner() -> str:
        return rng.choice(PARTNERS)

    def page_at(**options: Any) -> dict[str, Any]:
        return options

    return [
        ("no filter (newest first)", lambda: (MessageFilter(), {})),
        ("partner (1 of 50)", lambda: (MessageFilter(partner=partner()), {})),
        ("station (1 of 3)", lambda: (MessageFilter(station=rng.choice(STATIONS)), {})),
        ("direction", lambda: (MessageFilter(direction=rng.choice(["inbound", "outbound"])), {})),
        ("status = failed (rare)", lambda: (MessageFilter(statuses=("failed",)), {})),
        ("status = delivered (common)", lambda: (MessageFilter(statuses=("delivered",)), {})),
        ("status in failed, rejected, mdn-failed",
         lambda: (MessageFilter(statuses=("failed", "rejected", "mdn-failed")), {})),
        ("partner + status = failed",
         lambda: (MessageFilter(partner=partner(), statuses=("failed",)), {})),
        ("partner + direction = inbound",
         lambda: (MessageFilter(partner=partner(), direction="inbound"), {})),
        ("time range (1 hour)",
         lambda: (MessageFilter(since=(t := _when()), until=t + timedelta(hours=1)), {})),
        ("partner + time range (1 day)",
         lambda: (MessageFilter(partner=partner(), since=(t := _when()),
                                until=t + timedelta(days=1)), {})),
        ("Message-ID (exact)", lambda: (MessageFilter(message_id=f"<{n()}@myco>"), {})),
        ("search: a Message-ID's start (e.g. 123, before its @)",
         lambda: (MessageFilter(text=str(n())), {})),
        ("partner typed in capitals", lambda: (MessageFilter(partner=partner().upper()), {})),
        ("request id (exact)", lambda: (MessageFilter(request_id=f"req-<{n()}@myco>"), {})),
        ("filename prefix (e.g. inv-123)",
         lambda: (MessageFilter(filename=f"inv-{rng.randrange(100, 1000)}"), {})),
        ("deep page (cursor at a random point)",
         lambda: (MessageFilter(), page_at(cursor=encode_cursor(_when(), uuid.UUID(int=0))))),
        ("partner, deep page",
         lambda: (MessageFilter(partner=partner()),
                  page_at(cursor=encode_cursor(_when(), uuid.UUID(int=0))))),
        ("sort by last activity, oldest first",
         lambda: (MessageFilter(), page_at(sort="updated_at", order="asc"))),
    ]  # fmt: skip
