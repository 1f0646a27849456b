"""The timeline's words for the events tracklog-svc records on a message, and the times in
tracklog-svc's lines, shown as the page shows every time."""

from __future__ import annotations

from typing import Any

from as2bus.console.domain.timeline import EVENT_WORDS, SummaryPart, TimelineStep, event_words
from as2bus.contracts import registered_events

from .conftest import client, fakes_of, sign_in


def test_every_message_and_mdn_event_has_its_words() -> None:
    """A new message event in the contracts needs its words here, or the page shows its
    class name split up."""
    on_a_timeline = {e.__name__ for e in registered_events()
                     if e.subject.startswith(("as2.evt.message.", "as2.evt.mdn."))}  # fmt: skip
    assert on_a_timeline == set(EVENT_WORDS)
    assert event_words("AttemptStarted") == "attempt started"
    assert event_words("MdnSent") == "MDN sent"


def test_an_event_this_console_does_not_know_reads_as_words() -> None:
    assert event_words("MessageArchived") == "message archived"
    assert event_words("HTTPProbeFailed") == "HTTP probe failed"
    assert event_words("Mdn2Resent") == "mdn 2 resent"
    assert event_words("") == ""


RETRYING = ("attempt 1 failed: connect to <b>acme</b> & co refused; next attempt at "
            "2026-12-05 23:56:49Z")  # fmt: skip


def test_times_in_a_summary_are_marked_in_utc_and_the_rest_stays_text() -> None:
    step = TimelineStep("attempt failed, retrying", "2026-12-05T23:56:19Z", RETRYING)
    assert step.summary_parts == [
        SummaryPart("attempt 1 failed: connect to <b>acme</b> & co refused; next attempt at "),
        SummaryPart("2026-12-05T23:56:49Z", time=True),
    ]
    offset = TimelineStep("x", "", "at 2026-12-06T00:56:49.5+0100, then 2026-12-06 10:00 local")
    assert offset.summary_parts == [
        SummaryPart("at "),
        SummaryPart("2026-12-05T23:56:49.500000Z", time=True),
        SummaryPart(", then 2026-12-06 10:00 local"),  # no zone: nothing says where it is
    ]
    assert TimelineStep("x", "", "").summary_parts == []
    assert TimelineStep("x", "", "2026-13-45 10:00:00Z").summary_parts == [
        SummaryPart("2026-13-45 10:00:00Z")  # no such date: text as it came
    ]


async def test_the_page_shows_a_summarys_time_as_a_local_time_and_escapes_the_rest(
    app: Any,
) -> None:
    """It showed "next attempt at 2026-12-05 23:56:49Z", raw UTC beside local times."""
    fakes_of(app).backends.tracklog.details["m1"] = {
        "id": "m1", "direction": "outbound", "status": "retrying", "filename": "po.x12",
        "message_id": "<1@myco>", "station": "MYCO", "partner": "ACME", "attempts": 1,
        "queued_at": "2026-12-05T23:56:18Z", "document": None,
        "timeline": [{"event_type": "MessageRetrying", "occurred_at": "2026-12-05T23:56:19Z",
                      "summary": RETRYING, "data": {}}],
    }  # fmt: skip
    async with client(app) as http:
        await sign_in(http, "viewer@example.com")
        page = (await http.get("/tracklog/m1")).text
    timeline = page[page.index('<ol class="timeline">') :]
    timeline = timeline[: timeline.index("</ol>")]
    # A <time> the page's script (console.js, localTimes) writes in the browser's zone.
    assert ('next attempt at <time datetime="2026-12-05T23:56:49Z" title="2026-12-05T23:56:49Z '
            '(UTC)">2026-12-05 23:56:49 UTC</time>') in timeline  # fmt: skip
    assert "connect to &lt;b&gt;acme&lt;/b&gt; &amp; co refused" in timeline
    assert "<b>" not in timeline
    assert "23:56:49Z</li>" not in timeline
