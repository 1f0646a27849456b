"""``as2bus up``'s restart policy: the delays between restarts of a dead child, and how its
death is told."""

from __future__ import annotations

from as2bus.cli.procs import Backoff, exit_reason


def test_the_delay_doubles_up_to_the_cap_and_starts_over_after_a_good_run() -> None:
    backoff = Backoff(first=1, cap=30, reset_after=60)
    assert [backoff.delay(ran_for=2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(ran_for=61) == 1  # it had stayed up: a new incident
    assert backoff.delay(ran_for=5) == 2


def test_a_death_is_told_by_its_signal_or_exit_code() -> None:
    assert exit_reason(-9) == "killed by SIGKILL"
    assert exit_reason(-15) == "killed by SIGTERM"
    assert exit_reason(3) == "exit code 3"
    assert exit_reason(-200) == "killed by signal 200"
