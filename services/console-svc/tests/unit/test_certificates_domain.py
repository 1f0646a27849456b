"""The certificate pages' pure helpers: expiry in words, states, the certificate in use,
which certificate a message used, switch times, cert-svc's refusals next to the fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from as2bus.console.domain.certificate_forms import FormError, local_time, problems, switch
from as2bus.console.domain.certificate_usage import certificates_used, same_fingerprint
from as2bus.console.domain.certificates import expiry, in_use, keystore_shown, shown

NOT_AFTER = "2026-12-16T10:00:00+00:00"
NOW = datetime(2026, 12, 4, 10, tzinfo=UTC)


def view(state: str = "active", days_left: int = 400, **fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("id", "c1"),
        "alias": "acme",
        "subject": "CN=ACME",
        "fingerprint_sha256": "AB:CD",
        "not_after": NOT_AFTER,
        "activation_at": "2026-01-01T00:00:00+00:00",
        "retirement_at": None,
        "state": state,
        "days_left": days_left,
        **fields,
    }


# --- expiry in words ---------------------------------------------------------------------------
def test_under_30_days_a_certificate_says_what_to_do_and_by_when() -> None:
    assert expiry(30, NOT_AFTER, "partner").notice == ""
    soon = expiry(12, NOT_AFTER, "partner")
    assert soon.level == "soon"
    assert soon.notice == "expires in 12 days — ask the partner for a new one by 2026-12-09"
    assert expiry(12, NOT_AFTER, "own").notice == (
        "expires in 12 days — generate or import a new one and send the partner its public "
        "certificate by 2026-12-09"
    )
    assert expiry(7, NOT_AFTER, "partner").notice.endswith("ask the partner for a new one today")
    assert expiry(1, NOT_AFTER, "partner").notice.startswith("expires in 1 day —")
    assert expiry(0, NOT_AFTER, "partner").notice.startswith("expires within a day —")
    gone = expiry(-1, NOT_AFTER, "partner")
    assert (gone.level, gone.notice) == ("expired", "expired — ask the partner for a new one now")


def test_days_left_in_words() -> None:
    assert [expiry(d, NOT_AFTER, "own").days_left_words for d in (400, 1, 0, -3)] == [
        "400 days left",
        "1 day left",
        "less than a day left",
        "expired",
    ]


# --- states and the certificate in use ---------------------------------------------------------
def test_states_in_the_track_logs_words() -> None:
    assert shown(view("pending"), "partner").state == "scheduled"
    assert shown(view("active"), "partner").state == "active"
    retiring = view("active", retirement_at="2026-12-10T00:00:00+00:00")
    assert shown(retiring, "partner").state == "retiring"
    assert shown(view("expired", -2), "partner").state == "expired"
    retired = shown(view("retired", 3), "partner")
    assert (retired.state, retired.expiry.level, retired.expiry.notice) == ("retired", "ok", "")


def test_the_certificate_in_use_is_the_latest_active_else_expired_else_scheduled() -> None:
    old = shown(view("active", id="old"), "own")
    new = shown(view("active", id="new", activation_at="2026-06-01T00:00:00+00:00"), "own")
    nxt = shown(view("pending", id="next", activation_at="2027-01-01T00:00:00+00:00"), "own")
    dead = shown(view("expired", -1, id="dead"), "own")
    gone = shown(view("retired", id="gone"), "own")
    assert in_use([old, nxt, new, dead, gone]) == new
    assert in_use([nxt, dead]) == dead
    assert in_use([nxt, gone]) == nxt
    assert in_use([gone]) is None


def test_an_expiring_certificate_with_a_successor_says_so() -> None:
    keystore = keystore_shown(
        {
            "id": "k",
            "station_as2_id": "MYCO",
            "partner_as2_id": "ACME",
            "private_key_alias": "myco",
            "partner_cert_alias": "acme",
            "own_certificates": [],
            "partner_certificates": [
                view("active", 12, id="current"),
                view("pending", 700, id="next", activation_at="2026-12-08T09:00:00+00:00"),
            ],
        }
    )
    current = keystore.theirs
    assert current is not None
    assert current.id == "current"
    assert (
        current.expiry.notice == "expires in 12 days — its successor is scheduled from 2026-12-08"
    )
    assert [c.id for c in keystore.scheduled] == ["next"]
    assert keystore.partner_certificates[0].id == "next"  # newest first
    assert keystore.ours is None


def test_a_retiring_certificate_whose_successor_is_active_needs_no_advice() -> None:
    keystore = keystore_shown(
        {
            "id": "k",
            "station_as2_id": "MYCO",
            "partner_as2_id": "ACME",
            "private_key_alias": "myco",
            "partner_cert_alias": "acme",
            "partner_certificates": [],
            "own_certificates": [
                view("active", 5, id="old", retirement_at="2026-12-06T00:00:00+00:00"),
                view("active", 700, id="new", activation_at="2026-12-01T00:00:00+00:00"),
            ],
        }
    )
    assert keystore.ours is not None
    assert keystore.ours.id == "new"
    assert [c.expiry.level for c in keystore.own] == ["ok", "ok"]
    assert not keystore.needs_attention


# --- which certificate a message used ----------------------------------------------------------
def test_a_message_names_the_certificates_it_used() -> None:
    ours = shown(view(id="ours", fingerprint_sha256="AA:BB"), "own")
    theirs = shown(view(id="theirs", fingerprint_sha256="CC:DD"), "partner")
    outbound = {
        "direction": "outbound",
        "timeline": [
            {
                "event_type": "MessageSent",
                "occurred_at": "t",
                "data": {
                    "headers": {"AS2-To": "ACME"},
                    "signed_with": "aa:bb",
                    "encrypted_for": "CCDD",
                },
            },
            {
                "event_type": "MdnReceived",
                "occurred_at": "t",
                "data": {"disposition": "processed", "verified_with": "EE:FF"},
            },
        ],
    }
    used = certificates_used(outbound, [ours, theirs])
    assert [(u.what, u.certificate) for u in used.ours] == [("signed with", ours)]
    assert [(u.what, u.certificate) for u in used.theirs] == [
        ("encrypted for", theirs),
        ("MDN verified with", None),
    ]
    inbound = {
        "direction": "inbound",
        "timeline": [
            {
                "event_type": "MessageReceived",
                "occurred_at": "t",
                "data": {"headers": {"AS2-From": "ACME"}, "signed_with": "CC:DD"},
            },
        ],
    }
    used = certificates_used(inbound, [ours, theirs])
    assert used.ours == []
    assert [(u.what, u.certificate) for u in used.theirs] == [("signature verified with", theirs)]
    unsigned = {
        "direction": "outbound",
        "timeline": [
            {"event_type": "MessageSent", "occurred_at": "t", "data": {"headers": {"A": "b"}}},
        ],
    }
    assert certificates_used(unsigned, [ours]).ours == []
    assert certificates_used({"direction": "outbound"}, [ours]).theirs == []


def test_a_loopback_certificate_matches_on_either_side() -> None:
    both = shown(view(id="both", fingerprint_sha256="AA:BB"), "own")
    outbound = {
        "direction": "outbound",
        "timeline": [
            {
                "event_type": "MessageSent",
                "occurred_at": "t",
                "data": {"headers": {"A": "b"}, "encrypted_for": "AA:BB"},
            },
        ],
    }
    assert certificates_used(outbound, [both]).theirs[0].certificate == both
    assert same_fingerprint("AB:cd:01", "abcd01")
    assert not same_fingerprint("AB:CD", "AB:CE")


# --- switch times ------------------------------------------------------------------------------
def test_a_switch_time_is_read_in_the_browsers_zone() -> None:
    # getTimezoneOffset() is UTC minus local: -60 in Paris in winter, 300 in New York.
    paris = local_time("2027-01-10T09:00", "-60")
    assert paris == datetime(2027, 1, 10, 9, tzinfo=timezone(timedelta(hours=1)))
    assert local_time("2027-01-10T09:00", "300") == datetime(2027, 1, 10, 14, tzinfo=UTC)
    assert local_time("2027-01-10T09:00", "") == datetime(2027, 1, 10, 9, tzinfo=UTC)
    assert local_time("  ", "-60") is None
    with pytest.raises(FormError) as bad:
        local_time("next tuesday", "0")
    assert bad.value.field == "activation_at"


def test_the_overlap_window_sets_when_the_previous_certificates_retire() -> None:
    both = switch("2027-01-10T09:00", "7", "0", NOW)
    assert both.form_fields() == {
        "activation_at": "2027-01-10T09:00:00+00:00",
        "retire_previous_at": "2027-01-17T09:00:00+00:00",
    }
    # "Now" with an overlap: sent as this very time, so that cert-svc counts the overlap
    # from the switch (its own "now", a moment later, would end an overlap of 0 before it).
    assert switch("", "1.5", "0", NOW).form_fields() == {
        "activation_at": NOW.isoformat(),
        "retire_previous_at": (NOW + timedelta(days=1.5)).isoformat(),
    }
    assert switch("", "0", "0", NOW).form_fields() == {
        "activation_at": NOW.isoformat(),
        "retire_previous_at": NOW.isoformat(),
    }
    assert switch("", "", "0", NOW).form_fields() == {}  # cert-svc's defaults
    for wrong in ("a week", "-1", "400"):
        with pytest.raises(FormError) as bad:
            switch("", wrong, "0", NOW)
        assert bad.value.field == "overlap_days"


def test_a_switch_time_in_the_past_is_refused_at_its_field() -> None:
    """It would put the new certificate in use since then and retire the previous one at
    once (the overlap counted from that time). A few minutes back is still "now"."""
    for past in ("2020-01-10T09:30", "2026-12-04T09:54:59"):
        with pytest.raises(FormError) as bad:
            switch(past, "3", "0", NOW)
        assert (bad.value.field, bad.value.message) == (
            "activation_at",
            "that time has passed: give a time from now on, or leave it empty to switch now",
        )
    with pytest.raises(FormError):  # in the browser's zone: 10:30 in Paris is 09:30 UTC
        switch("2026-12-04T10:30", "", "-60", NOW)
    assert not switch("2026-12-04T09:00", "", "300", NOW).takes_over_now(NOW)  # 14:00 UTC
    moment_ago = switch("2026-12-04T09:56", "3", "0", NOW)
    assert moment_ago.takes_over_now(NOW)
    assert moment_ago.retire_previous_at == datetime(2026, 12, 7, 9, 56, tzinfo=UTC)
    assert switch("", "", "0", NOW).takes_over_now(NOW)
    assert not switch("2026-12-04T10:01", "", "0", NOW).takes_over_now(NOW)


def test_cert_svc_refusals_go_next_to_the_forms_fields() -> None:
    found = problems(
        "partner",
        {"retire_previous_at": "too early", "alias": "bad alias", "file": "not a certificate"},
        ("file", "overlap_days"),
    )
    assert found.of("partner", "overlap_days") == "too early"
    assert found.of("partner", "file") == "not a certificate"
    assert found.of("partner", "") == "bad alias"  # not a field of this form: above it
    assert found.of("import", "file") == ""  # another form of the page


def test_a_refused_form_shows_what_was_typed_in_its_own_fields_only() -> None:
    found = problems("import", {"password": "wrong password"}, ("password", "key_alias"),
                     typed={"key_alias": "mykey", "overlap_days": "14"})  # fmt: skip
    assert found.value("import", "key_alias") == "mykey"
    assert found.value("import", "overlap_days", "7") == "14"
    assert found.value("import", "activation_at") == ""
    assert found.value("generate", "overlap_days", "7") == "7"  # another form: its default
