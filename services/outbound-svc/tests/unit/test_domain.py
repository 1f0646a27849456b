from datetime import timedelta

import pytest

from as2bus.outbound.domain import backoff, retryable_status


@pytest.mark.parametrize(
    ("status", "retry"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (401, False), (404, False)],
)
def test_which_http_statuses_are_retried(status: int, retry: bool) -> None:
    assert retryable_status(status) is retry


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 30, 200) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=200),
    ]
