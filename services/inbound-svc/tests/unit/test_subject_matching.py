from as2bus.inbound.adapters.retention import subject_matches

RECEIVED = "as2.evt.message.inbound.received"


def test_nats_wildcards_as_the_server_applies_them() -> None:
    assert subject_matches(RECEIVED, RECEIVED)
    assert subject_matches("as2.evt.>", RECEIVED)
    assert subject_matches(">", RECEIVED)
    assert subject_matches("as2.evt.message.*.received", RECEIVED)
    assert not subject_matches("as2.evt.message.*.sent", RECEIVED)
    assert not subject_matches("as2.evt.message.inbound", RECEIVED)  # fewer tokens
    assert not subject_matches(f"{RECEIVED}.>", RECEIVED)  # > needs one token at least
    assert not subject_matches("as2.evt.message.outbound.>", RECEIVED)
