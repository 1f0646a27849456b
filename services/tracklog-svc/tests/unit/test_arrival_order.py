"""Out-of-order and repeated arrival: the projection depends on the set of events, not on the
order they come in (what makes a rebuild equal the live projection)."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from as2bus.contracts import Event
from as2bus.testing.tracklog import T0, in_memory, inbound, outbound, rejected


def mixed_stream() -> list[Event]:
    return [
        *outbound("<a@myco>", retries=2, mdn_mode="async"),
        *outbound("<b@myco>", mdn="processed/warning", at=T0 + timedelta(seconds=1)),
        *outbound("<c@myco>", retries=1, fail="HTTP 500 from the partner"),
        *inbound("<p@acme>", duplicates=2, mdn_mode="async", mdn_delivered=False),
        *inbound("<q@acme>", partner="globex"),
        rejected(direction="inbound", message_id="<r@acme>"),
        rejected(direction="outbound", request_id="req-refused", code="UNKNOWN_PARTNERSHIP"),
    ]


def test_every_order_of_one_lifecycle_gives_the_same_row() -> None:
    events = outbound("<a@myco>", retries=2, mdn_mode="async")  # 5 events, 120 orders
    expected = in_memory(events)
    for order in itertools.permutations(events):
        assert in_memory(order) == expected


def test_shuffled_and_repeated_streams_give_the_same_projection() -> None:
    events = mixed_stream()
    expected = in_memory(events)
    assert {row.status for row in expected.values()} == {
        "delivered", "delivered-with-warnings", "failed", "mdn-failed", "mdn-sent", "rejected",
    }  # fmt: skip
    shuffler = random.Random(7)
    for _ in range(200):
        again = events + shuffler.sample(events, k=5)  # JetStream redelivers some
        shuffler.shuffle(again)
        assert in_memory(again) == expected


def test_redelivered_events_change_nothing() -> None:
    events = inbound("<p@acme>", duplicates=1)
    row = next(iter(in_memory(events + events).values()))
    assert (row.events, row.duplicates) == (3, 1)
