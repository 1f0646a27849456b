"""The console's rules without I/O: roles, throttling, causes, dashboard figures, redirects."""

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from as2bus.console.domain.causes import UNKNOWN, cause_of
from as2bus.console.domain.dashboard import summarise
from as2bus.console.domain.roles import Action, Role, may
from as2bus.console.domain.sessions import Throttle
from as2bus.console.domain.users import UserError, check_password, normalised_email
from as2bus.console.entrypoints.signin import _safe_next
from as2bus.shared.keyring import Reason

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_each_role_may_what_it_should_and_no_more() -> None:
    assert [may(r, Action.SEND) for r in Role] == [False, True, True]
    assert [may(r, Action.MANAGE_USERS) for r in Role] == [False, False, True]
    assert all(may(r, Action.VIEW) for r in Role)
    assert Role.named(" Operator ") is Role.OPERATOR
    with pytest.raises(ValueError, match="admin, operator or viewer"):
        Role.named("root")


def test_throttle_blocks_within_the_window_only() -> None:
    throttle = Throttle(5, timedelta(minutes=15))
    assert not throttle.blocked(4, NOW, NOW)
    assert throttle.blocked(5, NOW, NOW + timedelta(minutes=14))
    assert not throttle.blocked(5, NOW, NOW + timedelta(minutes=15))
    assert not throttle.blocked(0, None, NOW)


def test_users_need_an_address_and_a_long_password() -> None:
    assert normalised_email(" Ann@Example.COM ") == "ann@example.com"
    with pytest.raises(UserError, match="not an e-mail address"):
        normalised_email("ann")
    with pytest.raises(UserError, match="at least 12"):
        check_password("short", "ann@example.com")


def test_every_failure_code_has_words_and_unknown_ones_fall_back() -> None:
    for code in ("attempts-exhausted", "partner-refused", "mic-mismatch", "mdn-unsigned",
                 "UNKNOWN_PARTNERSHIP", "decryption-failed"):  # fmt: skip
        cause = cause_of(code)
        assert cause is not UNKNOWN
        assert cause.what
        assert cause.todo
    assert cause_of("something-new") is UNKNOWN
    assert cause_of(None) is UNKNOWN


#: The codes of an outbound send request the gateway refused (MessageRejected, listed in
#: docs/integrating.md), and the certificate problems it refuses for (shared keyring's Reason).
REFUSALS = ("INVALID_JSON", "INVALID_REQUEST", "REQUEST_ID_REUSED", "UNKNOWN_PARTNERSHIP",
            "DOCUMENT_NOT_FOUND", "DOCUMENT_MISMATCH", "DOCUMENT_TOO_LARGE",
            *get_args(Reason))  # fmt: skip


@pytest.mark.parametrize("code", REFUSALS)
def test_every_refusal_says_what_happened_and_what_to_do(code: str) -> None:
    cause = cause_of(code)
    assert cause is not UNKNOWN
    assert cause.what.startswith("The gateway refused")  # nothing reached the partner
    assert "again" in cause.todo  # not a resend: the message never left


def test_dashboard_figures_from_tracklog_statistics() -> None:
    stats = {
        "counts": [
            {"partner": "ACME", "direction": "outbound", "status": "delivered", "count": 8},
            {"partner": "ACME", "direction": "outbound", "status": "failed", "count": 2},
            {"partner": "BOLT", "direction": "inbound", "status": "mdn-sent", "count": 5},
        ],
        "time_to_mdn": [{"partner": None, "count": 8, "p50": 300, "p90": 900, "p99": 1500}],
        "certificates": [{"alias": "old", "days_left": 12}, {"alias": "new", "days_left": 700}],
    }
    s = summarise(stats)
    assert (s.total, s.delivered, s.failed) == (15, 13, 2)
    assert s.totals["outbound failed"] == 2
    assert [(p.partner, p.failure_rate) for p in s.partners] == [("ACME", 0.2), ("BOLT", 0.0)]
    assert s.time_to_mdn is not None
    assert s.time_to_mdn["p50"] == 300
    assert [c["alias"] for c in s.expiring] == ["old"]


def test_requests_refused_without_a_partner_are_a_row_of_their_own() -> None:
    """A send request refused before naming a known partner has none: tracklog counts it under
    null, which sorted beside a partner at the same failure rate (both 100 % here) raised."""
    stats = {
        "counts": [
            {"partner": None, "direction": "outbound", "status": "rejected", "count": 1},
            {"partner": "ACME", "direction": "outbound", "status": "failed", "count": 2},
        ]
    }
    s = summarise(stats)
    assert [(p.partner, p.total, p.failure_rate) for p in s.partners] == [
        ("ACME", 2, 1.0),
        (None, 1, 1.0),
    ]


def test_after_sign_in_only_paths_of_this_site() -> None:
    assert _safe_next("/tracklog?status=failed") == "/tracklog?status=failed"
    for elsewhere in ("https://evil.example", "//evil.example", "/\\evil", "", None):
        assert _safe_next(elsewhere) == "/"


def test_attempts_from_a_timeline() -> None:
    from as2bus.console.domain.attempts import attempts

    t0 = "2026-12-04T10:00:00+00:00"
    timeline = [
        {"event_type": "MessageQueued", "occurred_at": t0, "data": {}},
        {"event_type": "AttemptStarted", "occurred_at": t0, "data": {"attempt": 1}},
        {"event_type": "MessageRetrying", "occurred_at": "2026-12-04T10:00:02+00:00",
         "data": {"attempt": 1, "reason": "HTTP 503"}},
        {"event_type": "AttemptStarted", "occurred_at": "2026-12-04T10:01:00+00:00",
         "data": {"attempt": 2}},
        {"event_type": "MessageSent", "occurred_at": "2026-12-04T10:01:00.250000+00:00",
         "data": {"attempt": 2, "http_status": 200, "mdn_mode": "sync"}},
    ]  # fmt: skip
    first, second = attempts(timeline)
    assert (first.duration_ms, first.outcome) == (2000, "failed, retried: HTTP 503")
    assert (second.http_status, second.duration_ms) == (200, 250)
    assert second.outcome == "the partner took it (MDN sync)"


def test_an_attempt_that_failed_on_an_http_status_shows_it_in_its_column() -> None:
    """Its outcome said "HTTP 404" and its HTTP column "—": a failed attempt's event stored
    before ``http_status`` was added has the status only in its reason."""
    from as2bus.console.domain.attempts import attempts

    t0, url = "2026-12-04T10:00:00+00:00", "http://as2.acme.example/as2"
    ended = [
        ("MessageRetrying", {"attempt": 1, "reason": f"HTTP 503 from {url}"}),
        ("MessageFailed", {"attempts": 2, "reason": f"HTTP 404 from {url}"}),
        ("MessageRetrying", {"attempt": 3, "reason": f"timed out posting to {url}"}),
    ]
    timeline = [{"event_type": kind, "occurred_at": t0, "data": data} for kind, data in ended]
    assert [a.http_status for a in attempts(timeline)] == [503, 404, None]


def test_a_failed_attempt_shows_the_status_its_event_carries_when_the_reason_names_none() -> None:
    """A 2xx whose receipt could not be read, a refusal worded without "HTTP": the column
    showed "—" because the events outbound-svc publishes had no status but in the reason."""
    from as2bus.console.domain.attempts import attempts
    from as2bus.contracts import Failure, Retry

    t0 = datetime(2026, 12, 4, 10, tzinfo=UTC)
    names = {"request_id": "order-1", "message_id": "<m@myco>", "station": "MYCO",
             "partner": "ACME"}  # fmt: skip
    unreadable = "the partner took the message but its receipt could not be read"
    retried = Retry(**names, attempt=1, reason=f"{unreadable}: the MDN is for another message",
                    next_attempt_at=t0, http_status=200)  # fmt: skip
    failed = Failure(**names, attempts=2, reason="the partner is down", http_status=503)
    timeline = [
        {"event_type": kind, "occurred_at": t0.isoformat(), "data": data.model_dump(mode="json")}
        for kind, data in [("MessageRetrying", retried), ("MessageFailed", failed)]
    ]
    assert [a.http_status for a in attempts(timeline)] == [200, 503]
