"""Where a followed redirect took a message (SendAttempt.posted_to): kept in the timeline's
data as published and said in the attempt's line; an event from an older outbound-svc, without
the field, reads as before."""

from __future__ import annotations

import json
import uuid

from as2bus.contracts import MessageSent, SendAttempt, parse_event
from as2bus.testing.tracklog import T0
from as2bus.tracklog.merge import apply, new_state

IDS = {"request_id": "r1", "message_id": "<m1@myco>", "station": "MYCO", "partner": "acme"}
NEW = "https://as2.acme.example/new"


def sent(**more: object) -> MessageSent:
    attempt = SendAttempt(**IDS, attempt=1, http_status=200, mdn_mode="sync", **more)
    return MessageSent(correlation_id="<m1@myco>", occurred_at=T0, data=attempt)


def test_the_attempt_line_and_data_say_where_the_message_was_posted() -> None:
    event = sent(posted_to=NEW)
    entry = apply(new_state(uuid.uuid4(), "outbound", event), event)
    assert entry.summary == f"attempt 1: HTTP 200, MDN sync, posted to {NEW} after a redirect"
    assert entry.data["posted_to"] == NEW


def test_without_a_redirect_the_line_is_as_before() -> None:
    event = sent()
    entry = apply(new_state(uuid.uuid4(), "outbound", event), event)
    assert entry.summary == "attempt 1: HTTP 200, MDN sync"
    assert entry.data["posted_to"] is None


def test_an_event_from_before_the_field_parses_without_it() -> None:
    published = sent().model_dump(mode="json")
    del published["data"]["posted_to"]
    parsed = parse_event(json.dumps(published))
    assert isinstance(parsed, MessageSent)
    assert parsed.data.posted_to is None
