"""The tests' waiting helpers: they return as soon as the fact holds, and say what did not
happen (and what was seen instead) when it never does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from as2bus.testing.waiting import nothing_within, nothing_within_sync, until, until_sync


def counter(truthy_from: int, value: Any = "done") -> tuple[list[int], Callable[[], Any]]:
    """A check that returns None until its call number ``truthy_from``, then ``value``; and
    the list of its calls."""
    calls: list[int] = []

    def check() -> Any:
        calls.append(len(calls) + 1)
        return value if len(calls) >= truthy_from else None

    return calls, check


async def test_until_returns_the_first_truthy_value_as_soon_as_there_is_one() -> None:
    calls, check = counter(3, value={"id": 7})
    began = time.monotonic()
    assert await until(check, what="the third call", interval=0.01) == {"id": 7}
    assert calls == [1, 2, 3]
    assert time.monotonic() - began < 1


async def test_until_awaits_an_async_check_and_retries_through_its_errors() -> None:
    calls: list[int] = []

    async def check() -> str:
        calls.append(1)
        assert len(calls) >= 2, "not yet"  # an error counts as "not yet"
        if len(calls) < 3:
            raise ConnectionError("refused")
        return "up"

    assert await until(check, what="the service", interval=0.01) == "up"
    assert len(calls) == 3


async def test_until_times_out_naming_what_and_the_last_value() -> None:
    began = time.monotonic()
    with pytest.raises(AssertionError) as failed:
        await until(lambda: [], what="a MessageSent event", timeout=0.2, interval=0.02)
    elapsed = time.monotonic() - began
    message = str(failed.value)
    assert message.startswith("timed out after 0.2 s waiting for a MessageSent event")
    assert "last value: []" in message
    assert 0.2 <= elapsed < 1.0


async def test_until_times_out_with_the_last_error_as_the_cause() -> None:
    async def check() -> bool:
        raise ValueError("the stream holds ['MessageQueued']")

    with pytest.raises(AssertionError, match="waiting for the delivery") as failed:
        await until(check, what="the delivery", timeout=0.1, interval=0.02)
    assert "last error: ValueError: the stream holds ['MessageQueued']" in str(failed.value)
    assert isinstance(failed.value.__cause__, ValueError)


def test_until_sync_returns_the_value_and_times_out_with_a_message() -> None:
    calls, check = counter(2, value=42)
    assert until_sync(check, what="the answer", interval=0.01) == 42
    assert calls == [1, 2]
    began = time.monotonic()
    with pytest.raises(AssertionError, match=r"waiting for orphans to exit .*last value: 0"):
        until_sync(lambda: 0, what="orphans to exit", timeout=0.1, interval=0.02)
    assert 0.1 <= time.monotonic() - began < 1.0


def test_until_sync_reports_the_last_error() -> None:
    def check() -> bool:
        raise FileNotFoundError("received/LICENSE")

    with pytest.raises(AssertionError, match="last error: FileNotFoundError") as failed:
        until_sync(check, what="the file", timeout=0.05, interval=0.01)
    assert isinstance(failed.value.__cause__, FileNotFoundError)


async def test_nothing_within_watches_the_whole_window_when_nothing_happens() -> None:
    calls, check = counter(10_000)
    began = time.monotonic()
    await nothing_within(0.2, check, what="a third POST", interval=0.02)
    assert 0.2 <= time.monotonic() - began < 1.0
    assert len(calls) >= 5  # watched all along, not only at the end


async def test_nothing_within_fails_as_soon_as_the_wrong_thing_happens() -> None:
    calls, check = counter(3, value=["<m1@x>", "<m1@x>", "<m1@x>"])
    began = time.monotonic()
    with pytest.raises(AssertionError) as failed:
        await nothing_within(5, check, what="a third POST", interval=0.01)
    assert time.monotonic() - began < 1.0  # not the whole window
    message = str(failed.value)
    assert message.startswith("a third POST, 0.")
    assert "into the 5 s watched: ['<m1@x>', '<m1@x>', '<m1@x>']" in message
    assert len(calls) == 3


async def test_nothing_within_awaits_an_async_check() -> None:
    async def check() -> int:
        await asyncio.sleep(0)  # a real coroutine (it yields once), not a wait
        return 2

    with pytest.raises(AssertionError, match="a second terminal event"):
        await nothing_within(1, check, what="a second terminal event")


def test_nothing_within_sync_passes_quietly_and_fails_at_once() -> None:
    began = time.monotonic()
    nothing_within_sync(0.1, lambda: None, what="the command exiting", interval=0.02)
    assert 0.1 <= time.monotonic() - began < 1.0
    with pytest.raises(AssertionError, match=r"the command exiting, 0\.\d\d s into .*: 1"):
        nothing_within_sync(5, lambda: 1, what="the command exiting")
