"""The timeline's words for the events tracklog-svc records on a message."""

from __future__ import annotations

from as2bus.console.domain.timeline import EVENT_WORDS, event_words
from as2bus.contracts import registered_events


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
