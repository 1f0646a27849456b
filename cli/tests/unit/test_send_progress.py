"""``as2bus send`` follows an attempt in progress: waiting that runs out says the message is
being sent, not the state before the attempt (issue #16 item 21)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from as2bus.cli.send import Outcome, _check_later, _timed_out
from as2bus.contracts import AttemptStart, AttemptStarted, MessageQueued, OutboundMessage

IDS = {"request_id": "r1", "message_id": "<m1@myco>", "station": "MYCO", "partner": "acme"}


async def test_an_attempt_in_progress_is_what_a_wait_that_ran_out_reports() -> None:
    outcome = Outcome("r1")
    queued = OutboundMessage(**IDS, filename="a.edi", content_type="x", size=1)
    started = AttemptStart(**IDS, attempt=1, started_at=datetime.now(UTC))
    for event in (MessageQueued(data=queued), AttemptStarted(data=started)):
        await outcome.receive(SimpleNamespace(data=event.model_dump_json().encode()))
    assert outcome.verdict.status == "sending"
    assert not outcome.done.is_set()
    assert _timed_out(30, outcome.verdict, "as2bus track show '<m1@myco>'") == (
        "no outcome within 30 s (so far: sending: attempt 1 in progress); "
        "check later with: as2bus track show '<m1@myco>'"
    )


async def test_what_to_run_later_names_the_outbound_row() -> None:
    """A message sent to ourselves (the loopback demo) has a row each way under one
    Message-ID: the hint names the one this send made, so it works as printed."""
    request = cast(Any, SimpleNamespace(request_id="r1"))
    assert _check_later(request, None) == "as2bus track list --request-id 'r1'"
    outcome = Outcome("r1")
    queued = OutboundMessage(**IDS, filename="a.edi", content_type="x", size=1)
    await outcome.receive(
        SimpleNamespace(data=MessageQueued(data=queued).model_dump_json().encode())
    )
    assert _check_later(request, outcome) == "as2bus track show '<m1@myco>' --direction outbound"
