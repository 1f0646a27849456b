import uuid
from datetime import UTC, datetime, timedelta

import pytest

from as2bus.cert.domain import Certificate, expiry_threshold_due, switch_has_passed

T0 = datetime(2026, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
THRESHOLDS = [30, 14, 7, 1]


def cert(**overrides: object) -> Certificate:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "alias": "a",
        "kind": "partner",
        "source": "uploaded",
        "subject": "CN=a",
        "issuer": "CN=a",
        "serial": "01",
        "fingerprint_sha256": "AA",
        "key_bits": 2048,
        "not_before": T0 - DAY,
        "not_after": T0 + 100 * DAY,
        "activation_at": T0,
        "retirement_at": None,
        "cert_pem": "",
        "key_sealed": None,
        "created_at": T0,
    }
    return Certificate(**{**fields, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (T0 - DAY, "pending"),
        (T0, "active"),
        (T0 + 100 * DAY, "expired"),
    ],
)
def test_states_follow_activation_and_expiry(at: datetime, state: str) -> None:
    assert cert().state(at) == state


def test_retirement_wins_over_everything() -> None:
    retired = cert(retirement_at=T0 + DAY)
    assert retired.state(T0 + DAY) == "retired"
    assert retired.state(T0) == "active"


def test_retirement_is_only_ever_brought_forward() -> None:
    early = cert(retirement_at=T0 + DAY)
    assert early.retired_by(T0 + 10 * DAY).retirement_at == T0 + DAY
    assert cert().retired_by(T0 + 10 * DAY).retirement_at == T0 + 10 * DAY


@pytest.mark.parametrize(
    ("activation_at", "passed"),
    [
        (T0 + DAY, False),
        (T0, False),
        (T0 - timedelta(minutes=5), False),  # "now" read a moment before, clocks apart
        (T0 - timedelta(minutes=5, seconds=1), True),
        (T0 - 400 * DAY, True),
        (datetime(2026, 5, 31, 23, 58), False),  # without a zone: UTC, as stored
        (datetime(2026, 5, 31, 12), True),
    ],
)
def test_a_switch_time_more_than_a_few_minutes_back_has_passed(
    activation_at: datetime, passed: bool
) -> None:
    assert switch_has_passed(activation_at, T0) is passed


def test_days_left_rounds_down() -> None:
    assert cert(not_after=T0 + 7 * DAY + timedelta(hours=23)).days_left(T0) == 7
    assert cert(not_after=T0 - timedelta(hours=1)).days_left(T0) == -1


@pytest.mark.parametrize(
    ("days_left", "notified", "due"),
    [
        (31, set(), None),
        (30, set(), 30),
        (29, {30}, None),
        (14, {30}, 14),
        (10, set(), 14),  # first seen late: one warning, the most urgent reached
        (10, {14}, None),
        (1, {30, 14, 7}, 1),
        (0, {30, 14, 7, 1}, None),
    ],
)
def test_each_threshold_is_due_once(days_left: int, notified: set[int], due: int | None) -> None:
    assert expiry_threshold_due(days_left, THRESHOLDS, notified) == due
