"""Small codec work stays on the event loop; large work goes to a worker thread."""

from __future__ import annotations

import threading

import pytest

from as2bus.shared.offload import INLINE_BYTES, run_sized


def where(tag: str, *, suffix: str) -> tuple[str, int]:
    return tag + suffix, threading.get_ident()


@pytest.mark.parametrize("size", [0, 1024, 100 * 1024, INLINE_BYTES])
async def test_small_work_runs_on_the_event_loops_thread(size: int) -> None:
    result, thread = await run_sized(size, where, "built", suffix="!")
    assert result == "built!"
    assert thread == threading.get_ident()


@pytest.mark.parametrize("size", [INLINE_BYTES + 1, 100 * 1024 * 1024])
async def test_large_work_runs_on_a_worker_thread(size: int) -> None:
    result, thread = await run_sized(size, where, "built", suffix="?")
    assert result == "built?"
    assert thread != threading.get_ident()


async def test_an_error_reaches_the_caller_either_way() -> None:
    def fails() -> None:
        raise ValueError("unreadable")

    for size in (1, INLINE_BYTES * 2):
        with pytest.raises(ValueError, match="unreadable"):
            await run_sized(size, fails)
