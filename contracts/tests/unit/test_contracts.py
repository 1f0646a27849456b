import json
import uuid
from datetime import UTC, datetime

import pytest

from as2bus.contracts import (
    Deleted,
    Failure,
    MessageFailed,
    MessageRejected,
    MessageRetrying,
    PartnerCreated,
    PartnerState,
    Rejection,
    Retry,
    StationDeleted,
    UnknownEventError,
    parse_event,
    registered_events,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SPECIFIED_NAMES = {"CertExpiring", "MessageDuplicate", "MessageRetrying"}


def partner_state(**overrides: object) -> PartnerState:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "revision": 1,
        "as2_id": "amazon",
        "name": "Amazon",
        "as2_alias": "amazon",
        "as2_url": "https://as2.example.com/as2",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return PartnerState.model_validate({**fields, **overrides})


def test_an_event_round_trips_through_json_with_its_envelope() -> None:
    event = PartnerCreated(data=partner_state(), correlation_id="corr-1")
    decoded = parse_event(event.to_bytes())
    assert decoded == event
    assert isinstance(decoded, PartnerCreated)
    assert decoded.event_type == "PartnerCreated"
    assert decoded.schema_version == 1
    assert decoded.subject == "as2.evt.config.partner.created"


def test_consumers_ignore_fields_a_newer_producer_added() -> None:
    raw = json.loads(PartnerCreated(data=partner_state()).to_bytes())
    raw["added_in_v1_1"] = "x"
    raw["data"]["new_setting"] = 42
    decoded = parse_event(json.dumps(raw))
    assert isinstance(decoded, PartnerCreated)
    assert decoded.data.as2_id == "amazon"


def refused(**fields: object) -> MessageRejected:
    """A send request outbound-svc refused: its partnership is gone."""
    rejection = {"direction": "outbound", "message_id": None, "request_id": "console-1",
                 "station": "MYCO", "partner": "ACME", "modifier": "UNKNOWN_PARTNERSHIP",
                 "code": "UNKNOWN_PARTNERSHIP", "reason": "no partnership", **fields}  # fmt: skip
    return MessageRejected(data=Rejection.model_validate(rejection), correlation_id="console-1")


def test_a_refusal_round_trips_with_and_without_the_file_name_it_refused() -> None:
    for event in (refused(filename="po.x12"), refused()):
        assert parse_event(event.to_bytes()) == event
    decoded = parse_event(refused(filename="po.x12").to_bytes())
    assert isinstance(decoded, MessageRejected)
    assert decoded.data.filename == "po.x12"


def test_a_refusal_published_before_it_had_a_file_name_still_reads() -> None:
    raw = json.loads(refused().to_bytes())
    del raw["data"]["filename"]  # as published before the field was added
    decoded = parse_event(json.dumps(raw))
    assert isinstance(decoded, MessageRejected)
    assert (decoded.schema_version, decoded.data.filename) == (1, None)
    assert decoded.data.request_id == "console-1"


def test_a_failed_attempt_carries_the_partners_status_and_one_published_before_still_reads() -> (
    None
):
    names = {"request_id": "r-1", "message_id": "<m@myco>", "station": "MYCO", "partner": "ACME"}
    retry = Retry(**names, attempt=1, reason="HTTP 503", next_attempt_at=NOW, http_status=503)
    failure = Failure(**names, attempts=2, reason="HTTP 404", code="partner-refused",
                      http_status=404)  # fmt: skip
    for event in (MessageRetrying(data=retry), MessageFailed(data=failure)):
        assert parse_event(event.to_bytes()) == event
        raw = json.loads(event.to_bytes())
        del raw["data"]["http_status"]  # as published before the field was added
        old = parse_event(json.dumps(raw))
        assert isinstance(old, (MessageRetrying, MessageFailed))
        assert (old.schema_version, old.data.http_status) == (1, None)


def test_an_unknown_event_type_is_reported_not_guessed() -> None:
    raw = json.loads(
        StationDeleted(data=Deleted(id=uuid.uuid4(), revision=2, as2_id="x")).to_bytes()
    )
    raw["event_type"] = "SomethingNew"
    with pytest.raises(UnknownEventError, match="SomethingNew"):
        parse_event(json.dumps(raw))


def test_events_are_immutable() -> None:
    event = StationDeleted(data=Deleted(id=uuid.uuid4(), revision=2, as2_id="x"))
    with pytest.raises(ValueError, match="frozen"):
        event.correlation_id = "changed"  # type: ignore[misc]


def test_every_registered_event_has_a_distinct_past_tense_subject() -> None:
    events = registered_events()
    subjects = [e.subject for e in events]
    assert len(subjects) == len(set(subjects))
    for event in events:
        assert event.subject.startswith("as2.evt.")
        # Past tense, except names the service contracts were specified with.
        past = event.__name__.endswith(("ed", "Sent"))  # "Sent": the irregular one we use
        assert past or event.__name__ in SPECIFIED_NAMES
        assert event.summary


def test_partner_state_carries_no_secret_fields() -> None:
    schema = PartnerState.model_json_schema()
    models = [schema, *schema["$defs"].values()]
    properties = {name for model in models for name in model.get("properties", {})}
    assert "username" in properties  # the walk does reach the auth models
    assert not properties & {"password", "token", "refresh_token", "headers"}
